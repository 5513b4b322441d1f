//! Replay's values and plans held to the evtx crate's own rendering and reading.

use evtx::binxml::value_variant::{BinXmlValue, FileTime, SysTime};

use super::plan::{Op, Piece, compile, span};
use super::values::{push_utf16, render, ty};

/// A small deterministic generator (xorshift), so that failures reproduce.
fn numbers(seed: u64) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(seed | 1), |x| {
        let mut x = *x;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(x)
    })
}

fn rendered(t: u8, b: &[u8]) -> Option<String> {
    let mut s = Vec::new();
    render(&mut s, t, b).map(|()| String::from_utf8(s).unwrap())
}

#[test]
fn scalars_render_as_the_crate_renders_them() {
    let edges = [
        0,
        1,
        0xff,
        0x1_0000,
        u64::from(u32::MAX),
        i64::MAX as u64,
        u64::MAX,
    ];
    for v in edges.into_iter().chain(numbers(7).take(20_000)) {
        let b = v.to_le_bytes();
        let crate_text = |x: BinXmlValue<'_>| x.to_string();
        assert_eq!(
            rendered(ty::FILETIME, &b).unwrap(),
            crate_text(BinXmlValue::FileTimeType(FileTime(v))),
            "filetime {v}"
        );
        assert_eq!(
            rendered(ty::HEX_INT64, &b).unwrap(),
            crate_text(BinXmlValue::HexInt64Type(v))
        );
        assert_eq!(
            rendered(ty::HEX_INT32, &b[..4]).unwrap(),
            crate_text(BinXmlValue::HexInt32Type(v as u32))
        );
        assert_eq!(
            rendered(ty::INT64, &b).unwrap(),
            crate_text(BinXmlValue::Int64Type(v as i64))
        );
        assert_eq!(
            rendered(ty::INT16, &b[..2]).unwrap(),
            crate_text(BinXmlValue::Int16Type(v as i16))
        );
        let mut g = [0u8; 16];
        g[..8].copy_from_slice(&b);
        g[8..].copy_from_slice(&v.rotate_left(17).to_le_bytes());
        assert_eq!(
            rendered(ty::GUID, &g).unwrap(),
            crate_text(BinXmlValue::GuidType(g))
        );
        assert_eq!(
            rendered(ty::BINARY, &g[..(v % 17) as usize]).unwrap(),
            crate_text(BinXmlValue::BinaryType(&g[..(v % 17) as usize]))
        );
    }
    // SYSTEMTIMEs: random fields (mostly invalid) and valid ones.
    for (k, v) in numbers(5).take(20_000).enumerate() {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&v.to_le_bytes());
        b[8..].copy_from_slice(&v.rotate_left(29).to_le_bytes());
        if k % 2 == 0 {
            let field = |i: usize, m: u64| ((v >> (i * 5)) % m) as u16;
            let valid = [1601 + field(0, 9000), 1 + field(1, 12), 0, 1 + field(2, 28)];
            let time = [field(3, 24), field(4, 60), field(5, 60), field(6, 1000)];
            for (i, f) in valid.iter().chain(&time).enumerate() {
                b[2 * i..2 * i + 2].copy_from_slice(&f.to_le_bytes());
            }
        }
        assert_eq!(
            rendered(ty::SYSTIME, &b).unwrap(),
            BinXmlValue::SysTimeType(SysTime::from_bytes(&b)).to_string(),
            "systime {b:02x?}"
        );
    }
    // A size that does not fit the type, and types left to the XML path.
    assert_eq!(rendered(ty::UINT16, &[1, 2, 3]), None);
    assert_eq!(rendered(0x81, b"a\0\0\0"), None);
    assert_eq!(rendered(ty::BIN_XML, &[0x0c]), None);
    assert_eq!(rendered(ty::BIN_XML, &[]).unwrap(), "");
    assert_eq!(rendered(ty::BOOL, &2i32.to_le_bytes()).unwrap(), "2");
}

#[test]
fn sids_render_in_s_r_a_form() {
    let mut b = vec![1, 4, 0, 0, 0, 0, 0, 5];
    for sub in [21u32, 3_623_811_015, 1_386_138_392, 500] {
        b.extend_from_slice(&sub.to_le_bytes());
    }
    assert_eq!(
        rendered(ty::SID, &b).unwrap(),
        "S-1-5-21-3623811015-1386138392-500"
    );
    // A SID whose count does not fit its value is left to the XML path: the crate reads
    // as many sub-authorities as the count says, past the value (found by the
    // evtx_template fuzz target).
    b[1] = 9;
    assert_eq!(rendered(ty::SID, &b), None);
    b[1] = 3;
    assert_eq!(rendered(ty::SID, &b), None);
    assert_eq!(rendered(ty::SID, &[1, 2]), None);
    assert_eq!(
        rendered(ty::SID, &[1, 0, 0, 0, 0, 0, 0, 5]).unwrap(),
        "S-1-5"
    );
}

/// A template definition at chunk offset 0: `<Event>` holding the literal `units`.
fn template_with_literal(units: &[u16]) -> Vec<u8> {
    let mut content = vec![0x05, 0x01];
    content.extend_from_slice(&(units.len() as u16).to_le_bytes());
    content.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    template_holding(&content)
}

/// A template definition at chunk offset 0: `<Event>` holding the tokens `content`.
fn template_holding(content: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; 24];
    d.extend_from_slice(&[0x0f, 1, 1, 0]);
    d.push(0x01);
    d.extend_from_slice(&0xffffu16.to_le_bytes());
    d.extend_from_slice(&0u32.to_le_bytes());
    // The name is stored inline: its offset is where it starts.
    let at = d.len() as u32 + 4;
    d.extend_from_slice(&at.to_le_bytes());
    d.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    d.extend_from_slice(&5u16.to_le_bytes());
    d.extend(b"Event".iter().flat_map(|&c| [c, 0]));
    d.extend_from_slice(&[0, 0]);
    d.push(0x02);
    d.extend_from_slice(content);
    d.extend_from_slice(&[0x04, 0x00]);
    let size = (d.len() - 24) as u32;
    d[20..24].copy_from_slice(&size.to_le_bytes());
    d
}

/// An instance of the template at offset 0 whose one value is `value` of type `ty`.
fn instance_of_template_0(ty: u8, value: &[u8]) -> Vec<u8> {
    let mut i = vec![0x0c, 1];
    i.extend_from_slice(&7u32.to_le_bytes());
    i.extend_from_slice(&0u32.to_le_bytes());
    i.extend_from_slice(&1u32.to_le_bytes());
    i.extend_from_slice(&(value.len() as u16).to_le_bytes());
    i.extend_from_slice(&[ty, 0]);
    i.extend_from_slice(value);
    i
}

/// A record of the template `<Event>` placing its one value 16 times, the value an instance
/// of the same template, `depth` instances deep; with where its BinXML starts and its length.
fn record_placing_16_times(depth: usize) -> (Vec<u8>, usize, usize) {
    let mut data = template_holding(&[0x0e, 0, 0, 0x21].repeat(16));
    let mut value = instance_of_template_0(0x00, &[]);
    for _ in 1..depth {
        value = instance_of_template_0(0x21, &value);
    }
    let at = data.len();
    data.extend_from_slice(&[0x0f, 1, 1, 0]);
    data.extend_from_slice(&instance_of_template_0(0x21, &value));
    data.push(0x00);
    let len = data.len() - at;
    (data, at, len)
}

#[test]
fn a_record_replays_within_a_budget() {
    // Eight deep: 16^8 elements from a few hundred bytes. Replay gives up (the XML path
    // then fails the record on the crate's own budget) instead of running for hours.
    let (data, at, len) = record_placing_16_times(8);
    let mut templates = super::Templates::default();
    let event = templates.event(&data, at, len, &mut super::Scratch::default());
    assert!(event.is_none());
    // Two deep is replayed: 16 x 16 elements.
    let (data, at, len) = record_placing_16_times(2);
    let mut templates = super::Templates::default();
    assert!(
        templates
            .event(&data, at, len, &mut super::Scratch::default())
            .is_some()
    );
}

#[test]
fn literals_end_at_a_nul_as_the_crate_reads_them() {
    // Found by the evtx_template fuzz target: the crate reads a literal up to its first
    // NUL unit (a NUL inside a value is written as `_`).
    let units: Vec<u16> = "Home\0Dir".encode_utf16().collect();
    let plan = compile(&template_with_literal(&units), 0).unwrap();
    let texts: Vec<&str> = plan
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Text(Piece::Lit(s, e)) => Some(&plan.lits[span((*s, *e))]),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["Home"]);
    let units: Vec<u16> = "a\u{1}b".encode_utf16().collect();
    let plan = compile(&template_with_literal(&units), 0).unwrap();
    assert!(plan.lits.ends_with("a_b"), "{:?}", plan.lits);
}

/// What the crate's XML escaper writes for `units`, read back as the XML reader reads it.
fn escaped_and_read_back(units: &[u8]) -> String {
    let mut out = Vec::new();
    utf16_simd::escape_xml_utf16le_into(units, units.len() / 2, &mut out, true);
    let text = String::from_utf8(out).unwrap();
    quick_xml::escape::unescape(&text).unwrap().into_owned()
}

#[test]
fn strings_read_as_their_xml_rendering_reads_back() {
    // Units that matter: controls, quotes and markup, surrogates (paired and lone),
    // non-characters, and ordinary text.
    let interesting: [u16; 16] = [
        0,
        9,
        10,
        13,
        0x1f,
        b'&' as u16,
        b'<' as u16,
        b'"' as u16,
        b'a' as u16,
        0x7f,
        0xe9,
        0x20ac,
        0xd83d,
        0xde00,
        0xfffe,
        0xffff,
    ];
    for (k, r) in numbers(11).take(20_000).enumerate() {
        let len = (r % 40) as usize;
        // Every other case mostly printable ASCII (the eight-unit path), with a few
        // units of the other kinds where it must stop.
        let ascii = r % 2 == 0;
        let units: Vec<u8> = numbers(r)
            .take(len)
            .flat_map(|x| {
                let u = match x % 7 {
                    _ if ascii && x % 13 != 0 => 0x20 + (x % 0x60) as u16,
                    0 | 1 => x as u16,
                    _ => interesting[(x % 16) as usize],
                };
                u.to_le_bytes()
            })
            .collect();
        let mut ours = Vec::new();
        push_utf16(&mut ours, &units);
        let ours = String::from_utf8(ours).unwrap();
        assert_eq!(
            ours,
            escaped_and_read_back(&units),
            "case {k}: {units:02x?}"
        );
    }
}
