//! auto_explain plans (text or JSON): the query text and a one-line summary of the top node,
//! written the way EXPLAIN's text format names it (`Index Scan using t_pkey on t`).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// What a logged plan tells about its query.
#[derive(Debug, Default)]
pub(crate) struct Explained<'a> {
    /// `Query Text`.
    pub query_text: Cow<'a, str>,
    /// Top plan node.
    pub summary: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct JsonPlan<'a> {
    #[serde(rename = "Query Text", borrow)]
    query_text: Option<Cow<'a, str>>,
    #[serde(rename = "Plan", borrow)]
    plan: Option<Node<'a>>,
}

#[derive(Deserialize)]
struct Node<'a> {
    #[serde(rename = "Node Type", borrow)]
    node_type: Cow<'a, str>,
    #[serde(rename = "Operation", borrow)]
    operation: Option<Cow<'a, str>>,
    #[serde(rename = "Strategy", borrow)]
    strategy: Option<Cow<'a, str>>,
    #[serde(rename = "Join Type", borrow)]
    join_type: Option<Cow<'a, str>>,
    #[serde(rename = "Scan Direction", borrow)]
    scan_direction: Option<Cow<'a, str>>,
    #[serde(rename = "Index Name", borrow)]
    index_name: Option<Cow<'a, str>>,
    #[serde(rename = "Relation Name", borrow)]
    relation: Option<Cow<'a, str>>,
    #[serde(rename = "Function Name", borrow)]
    function: Option<Cow<'a, str>>,
    #[serde(rename = "CTE Name", borrow)]
    cte: Option<Cow<'a, str>>,
    #[serde(rename = "Alias", borrow)]
    alias: Option<Cow<'a, str>>,
    #[serde(rename = "Plans")]
    _plans: Option<IgnoredAny>,
}

/// EXPLAIN's text name of a JSON plan node (`explain.c`, ExplainNode).
fn node_name(n: &Node<'_>) -> String {
    let t = n.node_type.as_ref();
    let strategy = n.strategy.as_deref().unwrap_or("");
    let mut s = match t {
        "ModifyTable" => n.operation.as_deref().unwrap_or(t).to_string(),
        "Aggregate" => match strategy {
            "Sorted" => "GroupAggregate".into(),
            "Hashed" => "HashAggregate".into(),
            "Mixed" => "MixedAggregate".into(),
            _ => "Aggregate".into(),
        },
        "SetOp" if strategy == "Hashed" => "HashSetOp".into(),
        "Nested Loop" | "Merge Join" | "Hash Join" => {
            let base = t.strip_suffix(" Join").unwrap_or(t);
            match n.join_type.as_deref() {
                None | Some("Inner") => t.to_string(),
                Some(j) => format!("{base} {j} Join"),
            }
        }
        _ => t.to_string(),
    };
    if n.scan_direction.as_deref() == Some("Backward") {
        s.push_str(" Backward");
    }
    match t {
        "Bitmap Index Scan" => {
            if let Some(i) = &n.index_name {
                s.push_str(" on ");
                s.push_str(i);
            }
            return s;
        }
        "Index Scan" | "Index Only Scan" => {
            if let Some(i) = &n.index_name {
                s.push_str(" using ");
                s.push_str(i);
            }
        }
        _ => {}
    }
    let target = n
        .relation
        .as_deref()
        .or(n.function.as_deref())
        .or(n.cte.as_deref());
    if let Some(r) = target {
        s.push_str(" on ");
        s.push_str(r);
        if let Some(a) = n.alias.as_deref().filter(|a| *a != r) {
            s.push(' ');
            s.push_str(a);
        }
    }
    s
}

/// A text plan node line: starts at column 0 and shows its costs.
fn is_node_line(l: &str) -> bool {
    !l.starts_with(' ') && (l.contains("  (cost=") || l.contains("  (actual "))
}

/// Reads the body of a `duration: N ms  plan:` message.
pub(crate) fn parse(body: &str) -> Explained<'_> {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        if let Ok(p) = serde_json::from_str::<JsonPlan<'_>>(trimmed) {
            return Explained {
                query_text: p.query_text.unwrap_or(Cow::Borrowed("")),
                summary: p.plan.map(|n| Cow::Owned(node_name(&n))),
            };
        }
        return Explained {
            query_text: Cow::Borrowed(body),
            summary: None,
        };
    }
    let Some(q) = body.strip_prefix("Query Text: ") else {
        // No query text (a format this reader does not know): the plan is the statement.
        return Explained {
            query_text: Cow::Borrowed(body),
            summary: body.lines().find(|l| is_node_line(l)).map(top_node),
        };
    };
    // The query text may span lines; the plan starts at the first node line (or at
    // `Query Parameters:`, PostgreSQL 16).
    let mut end = q.len();
    let mut summary = None;
    let mut at = 0;
    for line in q.split_inclusive('\n') {
        let l = line.trim_end_matches(['\n', '\r']);
        if at > 0 && (l.starts_with("Query Parameters: ") || is_node_line(l)) {
            end = end.min(at - 1);
            if is_node_line(l) {
                summary = Some(top_node(l));
                break;
            }
        }
        at += line.len();
    }
    if summary.is_none() && end == q.len() {
        // Costs not shown: the line after the query text.
        if let Some(nl) = q.find('\n') {
            end = nl;
            summary = q[nl + 1..].lines().next().map(top_node);
        }
    }
    Explained {
        query_text: Cow::Borrowed(&q[..end]),
        summary,
    }
}

fn top_node(l: &str) -> Cow<'_, str> {
    Cow::Borrowed(l.split("  (").next().unwrap_or(l).trim())
}

/// The top node of a plan as EXPLAIN's text format names it (text or JSON plan body).
pub fn plan_summary(plan: &str) -> Option<String> {
    parse(plan).summary.map(Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_plan_with_multiline_query() {
        let body = "Query Text: select 'it''s'\n  , 42\nfrom t\nwhere id in (1, 2);\nBitmap Heap Scan on t  (cost=8.48..15.59 rows=3 width=68)\n  Recheck Cond: (id = ANY ('{1,2,3}'::integer[]))";
        let p = parse(body);
        assert_eq!(
            p.query_text,
            "select 'it''s'\n  , 42\nfrom t\nwhere id in (1, 2);"
        );
        assert_eq!(p.summary.as_deref(), Some("Bitmap Heap Scan on t"));
    }

    #[test]
    fn json_plan_names_like_text() {
        let body = r#"{
  "Query Text": "select * from t where id = 1",
  "Plan": {
    "Node Type": "Index Scan",
    "Parallel Aware": false,
    "Scan Direction": "Forward",
    "Index Name": "t_pkey",
    "Relation Name": "t",
    "Alias": "t",
    "Plans": [{"Node Type": "Result"}]
  }
}"#;
        let p = parse(body);
        assert_eq!(p.query_text, "select * from t where id = 1");
        assert_eq!(p.summary.as_deref(), Some("Index Scan using t_pkey on t"));
        let m = r#"{"Query Text": "update t set v = 1", "Plan": {"Node Type": "ModifyTable", "Operation": "Update", "Relation Name": "t", "Alias": "t"}}"#;
        assert_eq!(plan_summary(m).as_deref(), Some("Update on t"));
        let j = r#"{"Plan": {"Node Type": "Hash Join", "Join Type": "Left"}}"#;
        assert_eq!(plan_summary(j).as_deref(), Some("Hash Left Join"));
    }
}
