//! What the JSON forms share: a framer for objects that may span lines or sit in an array,
//! and lenient borrowed values (a field may be a string in one agent's output and a number
//! in another's; event data may nest).

use std::borrow::Cow;
use std::fmt;

use super::framing::{self, with_line_end};
use memchr::memchr;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Frames one JSON object (one per line, or pretty-printed over many), an array's `[`, `,`
/// or `]` (structural records), or a line that is neither.
///
/// An object whose string runs into a line end, or in which a line starts with `{` at the
/// object's top level, is broken (truncated): it ends there, so the next object survives.
pub(crate) fn frame(b: &[u8], eof: bool) -> Option<usize> {
    let i = match framing::first_record_byte(b, eof) {
        Ok(i) => i,
        Err(framed) => return framed,
    };
    match b[i] {
        b'[' | b',' | b']' => with_line_end(b, i + 1, eof),
        b'{' => {
            let mut depth = 0usize;
            let mut in_str = false;
            let mut esc = false;
            let mut j = i;
            while j < b.len() {
                let c = b[j];
                if in_str {
                    if esc {
                        esc = false;
                    } else if c == b'\\' {
                        esc = true;
                    } else if c == b'"' {
                        in_str = false;
                    } else if c == b'\n' {
                        return Some(j + 1);
                    }
                } else {
                    match c {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return with_line_end(b, j + 1, eof);
                            }
                        }
                        b'\n' if depth == 1 => {
                            match b[j + 1..]
                                .iter()
                                .position(|c| !matches!(c, b' ' | b'\t' | b'\r'))
                            {
                                Some(k) if b[j + 1 + k] == b'{' => return Some(j + 1),
                                Some(_) => {}
                                None if !eof => return None,
                                None => {}
                            }
                        }
                        _ => {}
                    }
                }
                j += 1;
            }
            eof.then_some(b.len())
        }
        _ => match memchr(b'\n', &b[i..]) {
            Some(n) => Some(i + n + 1),
            None if eof => Some(b.len()),
            None => None,
        },
    }
}

/// True for the `[`, `,` and `]` records of [`frame`].
pub(crate) fn is_structural(record: &[u8]) -> bool {
    matches!(record.trim_ascii(), b"[" | b"," | b"]")
}

/// A JSON scalar, borrowed when it is an unescaped string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    U(u64),
    I(i64),
    F(f64),
    Bool(bool),
    /// `null`, or an array/object where a scalar was expected.
    None,
}

impl<'a> Scalar<'a> {
    /// Unsigned value of a number or a decimal/hex string.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Scalar::U(v) => Some(*v),
            Scalar::I(v) => u64::try_from(*v).ok(),
            Scalar::Str(s) => super::fields::parse_uint(s),
            _ => None,
        }
    }

    /// [`Scalar::as_u64`] narrowed to u32.
    pub fn as_u32(&self) -> Option<u32> {
        self.as_u64().and_then(|v| u32::try_from(v).ok())
    }

    /// The value as text (`None` for null).
    pub fn into_text(self) -> Option<Cow<'a, str>> {
        Some(match self {
            Scalar::Str(s) => s,
            Scalar::U(v) => Cow::Owned(v.to_string()),
            Scalar::I(v) => Cow::Owned(v.to_string()),
            Scalar::F(v) => Cow::Owned(v.to_string()),
            Scalar::Bool(v) => Cow::Borrowed(if v { "true" } else { "false" }),
            Scalar::None => return None,
        })
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::U(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::None)
    }
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// A string that borrows from the input when it can (object keys, names).
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> de::Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string or an array of strings (Winlogbeat `winlog.keywords`).
#[derive(Debug, Default)]
pub(crate) struct Names<'a>(pub Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> de::Deserialize<'de> for Names<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Scalar<'de>>()? {
                    out.extend(s.into_text());
                }
                Ok(Names(out))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Names(vec![Cow::Borrowed(v)]))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Names(vec![Cow::Owned(v.to_owned())]))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Names::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Entries of a flattened JSON object.
pub(crate) type Entries<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// An event-data object flattened to `(key, text)`: nested objects get dotted keys, an
/// array of scalars becomes its elements joined by `\n`, nulls and empty strings are
/// dropped (as Winlogbeat drops empty values).
#[derive(Debug, Default)]
pub(crate) struct Flat<'a>(pub Entries<'a>);

/// Pushes the value at `key` into `out`.
pub(crate) struct ValueSeed<'o, 'a> {
    pub key: Cow<'a, str>,
    pub out: &'o mut Entries<'a>,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for ValueSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ValueSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        if !v.is_empty() {
            self.out.push((self.key, Cow::Borrowed(v)));
        }
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        if !v.is_empty() {
            self.out.push((self.key, Cow::Owned(v.to_owned())));
        }
        Ok(())
    }
    fn visit_string<E>(self, v: String) -> Result<(), E> {
        if !v.is_empty() {
            self.out.push((self.key, Cow::Owned(v)));
        }
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.out.push((self.key, Cow::Owned(v.to_string())));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.out.push((self.key, Cow::Owned(v.to_string())));
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.out.push((self.key, Cow::Owned(v.to_string())));
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        let t = if v { "true" } else { "false" };
        self.out.push((self.key, Cow::Borrowed(t)));
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut parts: Vec<Cow<'de, str>> = Vec::new();
        while let Some(s) = seq.next_element::<Scalar<'de>>()? {
            parts.extend(s.into_text().filter(|t| !t.is_empty()));
        }
        match parts.len() {
            0 => {}
            1 => self.out.push((self.key, parts.pop().expect("one part"))),
            _ => self.out.push((self.key, Cow::Owned(parts.join("\n")))),
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(k)) = map.next_key::<Text<'de>>()? {
            let key = if self.key.is_empty() {
                k
            } else {
                Cow::Owned(format!("{}.{k}", self.key))
            };
            map.next_value_seed(ValueSeed {
                key,
                out: &mut *self.out,
            })?;
        }
        Ok(())
    }
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Flat<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        ValueSeed {
            key: Cow::Borrowed(""),
            out: &mut out,
        }
        .deserialize(d)?;
        Ok(Flat(out))
    }
}

/// The text of a JSON record, replacing invalid UTF-8 (serde_json rejects it).
pub(crate) fn text_of(record: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < input.len() {
            let n = frame(&input[pos..], true).unwrap();
            out.push(String::from_utf8_lossy(&input[pos..pos + n]).into_owned());
            pos += n;
        }
        out
    }

    #[test]
    fn frames_lines_arrays_and_pretty_objects() {
        let r = records(b"{\"a\":1}\n{\"b\":\"}\"}\n");
        assert_eq!(r, ["{\"a\":1}\n", "{\"b\":\"}\"}\n"]);
        let r = records(b"[\n  {\n    \"a\": {\"x\": [1, 2]}\n  },\n  {\"b\": 2}\n]\n");
        assert_eq!(
            r,
            [
                "[\n",
                "  {\n    \"a\": {\"x\": [1, 2]}\n  }",
                ",\n",
                "  {\"b\": 2}\n",
                "]\n"
            ]
        );
        // A truncated line does not swallow the next object.
        let r = records(b"{\"a\":1, \"b\n{\"c\":2}\n{\"d\":3\n{\"e\":4}\n");
        assert_eq!(
            r,
            [
                "{\"a\":1, \"b\n",
                "{\"c\":2}\n",
                "{\"d\":3\n",
                "{\"e\":4}\n"
            ]
        );
        assert_eq!(frame(b"{\"a\":1}", false), None);
        assert_eq!(frame(b"{\"a\":1}  \n{", false), Some(10));
    }

    #[test]
    fn flattening() {
        let f: Flat<'_> = serde_json::from_str(
            r#"{"A":"x","B":["p","q"],"C":{"D":1,"E":{"F":true}},"G":null,"H":"","I":["-"]}"#,
        )
        .unwrap();
        let got: Vec<(&str, &str)> = f.0.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(
            got,
            [
                ("A", "x"),
                ("B", "p\nq"),
                ("C.D", "1"),
                ("C.E.F", "true"),
                ("I", "-")
            ]
        );
        assert!(matches!(f.0[0].1, Cow::Borrowed(_)));
    }
}
