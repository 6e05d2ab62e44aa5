//! The part of MLflow's search grammar this store evaluates: comparisons
//! `<entity>.<key> <op> <value>` joined with `AND`, and `order_by` clauses
//! `<entity>.<key> [ASC|DESC]`. Anything else is refused naming the clause
//! rather than silently ignored. Values are bound as SQL parameters; only
//! column names chosen by the caller and fixed operators reach the SQL text.

use rusqlite::types::Value as SqlValue;

use crate::error::{Error, ErrorCode, Result};

/// What a clause compares.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Field {
    /// `attributes.x` or a bare `x`.
    Attribute(String),
    /// `params.x`.
    Param(String),
    /// `metrics.x`.
    Metric(String),
    /// `tags.x`.
    Tag(String),
}

/// A literal.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Str(String),
    Num(f64),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    ILike,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Like | Op::ILike => "LIKE",
        }
    }
}

/// One comparison, with its text for messages.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Clause {
    pub(super) field: Field,
    pub(super) op: Op,
    pub(super) value: Value,
    pub(super) text: String,
}

/// How a column compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Number,
}

pub(super) fn invalid(message: impl Into<String>) -> Error {
    Error::mlflow(ErrorCode::InvalidParameterValue, message)
}

/// Parses a filter; empty or `None` is no clause.
pub(super) fn parse(filter: Option<&str>) -> Result<Vec<Clause>> {
    let text = filter.unwrap_or("").trim();
    let mut lexer = Lexer { text, pos: 0 };
    let mut clauses = Vec::new();
    while !lexer.at_end() {
        let start = lexer.pos;
        let clause = lexer.clause().map_err(|why| {
            let rest = lexer.text[start..].trim();
            let shown = rest.split(" AND ").next().unwrap_or(rest);
            invalid(format!(
                "Invalid search filter clause '{shown}': {why}. Supported: \
                 attributes.<name>, params.<key>, metrics.<key> or tags.<key> compared with \
                 =, !=, >, >=, <, <=, LIKE or ILIKE to a quoted string or a number, joined \
                 with AND"
            ))
        })?;
        let clause_text = lexer.text[start..lexer.pos].trim().to_owned();
        clauses.push(Clause {
            text: clause_text,
            ..clause
        });
        lexer.skip_ws();
        if lexer.at_end() {
            break;
        }
        let before_and = lexer.pos;
        let word = lexer.word();
        if !word.eq_ignore_ascii_case("and") || !lexer.skip_ws() {
            let rest = lexer.text[before_and..].trim();
            return Err(invalid(format!(
                "Invalid search filter near '{rest}': clauses must be joined with AND (OR and \
                 parentheses are not supported)"
            )));
        }
    }
    Ok(clauses)
}

/// One `order_by` entry: the field and whether ascending.
pub(super) fn parse_order(text: &str) -> Result<(Field, bool)> {
    let mut lexer = Lexer {
        text: text.trim(),
        pos: 0,
    };
    let bad = |why: &str| invalid(format!("Invalid order_by clause '{}': {why}", text.trim()));
    let field = lexer.field().map_err(|e| bad(&e))?;
    lexer.skip_ws();
    let direction = lexer.word();
    lexer.skip_ws();
    if !lexer.at_end() {
        return Err(bad("expected `<field> [ASC|DESC]`"));
    }
    match direction.to_ascii_uppercase().as_str() {
        "" | "ASC" => Ok((field, true)),
        "DESC" => Ok((field, false)),
        _ => Err(bad("the direction must be ASC or DESC")),
    }
}

/// `column <op> ?` for a clause on a column of `kind`, and its parameter.
pub(super) fn condition(clause: &Clause, column: &str, kind: Kind) -> Result<(String, SqlValue)> {
    let bad = |why: &str| {
        invalid(format!(
            "Invalid search filter clause '{}': {why}",
            clause.text
        ))
    };
    match (kind, &clause.value) {
        (Kind::Text, Value::Str(s)) => {
            if !matches!(clause.op, Op::Eq | Op::Ne | Op::Like | Op::ILike) {
                return Err(bad("strings compare only with =, !=, LIKE or ILIKE"));
            }
            if clause.op == Op::ILike {
                Ok((
                    format!("lower({column}) LIKE lower(?)"),
                    SqlValue::Text(s.clone()),
                ))
            } else {
                Ok((
                    format!("{column} {} ?", clause.op.sql()),
                    SqlValue::Text(s.clone()),
                ))
            }
        }
        (Kind::Number, Value::Num(n)) => {
            if matches!(clause.op, Op::Like | Op::ILike) {
                return Err(bad("numbers compare with =, !=, >, >=, < or <="));
            }
            Ok((
                format!("{column} {} ?", clause.op.sql()),
                SqlValue::Real(*n),
            ))
        }
        (Kind::Text, Value::Num(_)) => Err(bad("the value must be a quoted string")),
        (Kind::Number, Value::Str(_)) => Err(bad("the value must be a number")),
    }
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    /// Skips whitespace; true if there was some.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        self.pos > start || self.at_end()
    }

    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek()
            && (c.is_alphanumeric() || c == '_')
        {
            self.pos += c.len_utf8();
        }
        &self.text[start..self.pos]
    }

    fn quoted(&mut self, quote: char) -> std::result::Result<String, String> {
        self.pos += quote.len_utf8();
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.pos += c.len_utf8();
            if c == '\\'
                && let Some(next) = self.peek()
            {
                self.pos += next.len_utf8();
                out.push(next);
            } else if c == quote {
                return Ok(out);
            } else {
                out.push(c);
            }
        }
        Err(format!("unterminated {quote}quote"))
    }

    fn field(&mut self) -> std::result::Result<Field, String> {
        let start = self.pos;
        while let Some(c) = self.peek()
            && (c.is_alphanumeric() || c == '_')
        {
            self.pos += c.len_utf8();
        }
        let first = self.text[start..self.pos].to_owned();
        if first.is_empty() {
            return Err("expected a field such as metrics.<key>".into());
        }
        if self.peek() != Some('.') {
            return Ok(Field::Attribute(first));
        }
        self.pos += 1;
        let key = match self.peek() {
            Some(q @ ('`' | '"')) => self.quoted(q)?,
            _ => {
                let key_start = self.pos;
                while let Some(c) = self.peek()
                    && (c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | ':'))
                {
                    self.pos += c.len_utf8();
                }
                self.text[key_start..self.pos].to_owned()
            }
        };
        if key.is_empty() {
            return Err(format!("'{first}.' needs a key"));
        }
        match first.to_ascii_lowercase().as_str() {
            "attributes" | "attribute" | "attr" | "run" => Ok(Field::Attribute(key)),
            "params" | "param" | "parameter" | "parameters" => Ok(Field::Param(key)),
            "metrics" | "metric" => Ok(Field::Metric(key)),
            "tags" | "tag" => Ok(Field::Tag(key)),
            other => Err(format!("unknown entity '{other}'")),
        }
    }

    fn op(&mut self) -> std::result::Result<Op, String> {
        for (text, op) in [
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("=", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
        ] {
            if self.text[self.pos..].starts_with(text) {
                self.pos += text.len();
                return Ok(op);
            }
        }
        let word = self.word().to_ascii_uppercase();
        match word.as_str() {
            "LIKE" => Ok(Op::Like),
            "ILIKE" => Ok(Op::ILike),
            "" => Err("expected a comparison operator".into()),
            other => Err(format!("unsupported operator '{other}'")),
        }
    }

    fn value(&mut self) -> std::result::Result<Value, String> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => self.quoted(q).map(Value::Str),
            Some(_) => {
                let start = self.pos;
                while let Some(c) = self.peek()
                    && (c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
                {
                    self.pos += 1;
                }
                let text = &self.text[start..self.pos];
                text.parse::<f64>()
                    .map(Value::Num)
                    .map_err(|_| format!("'{text}' is neither a quoted string nor a number"))
            }
            None => Err("expected a value".into()),
        }
    }

    fn clause(&mut self) -> std::result::Result<Clause, String> {
        self.skip_ws();
        let field = self.field()?;
        self.skip_ws();
        let op = self.op()?;
        self.skip_ws();
        let value = self.value()?;
        Ok(Clause {
            field,
            op,
            value,
            text: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comparisons_joined_with_and() {
        let clauses = parse(Some(
            "params.alpha = '0.5' and metrics.`val acc` >= 0.5 AND tags.\"mlflow.runName\" != \
             \"x\" AND attributes.start_time < 10 AND status LIKE 'FIN%'",
        ))
        .unwrap();
        let fields: Vec<_> = clauses.iter().map(|c| (&c.field, c.op)).collect();
        assert_eq!(
            fields,
            [
                (&Field::Param("alpha".into()), Op::Eq),
                (&Field::Metric("val acc".into()), Op::Ge),
                (&Field::Tag("mlflow.runName".into()), Op::Ne),
                (&Field::Attribute("start_time".into()), Op::Lt),
                (&Field::Attribute("status".into()), Op::Like),
            ]
        );
        assert_eq!(clauses[0].value, Value::Str("0.5".into()));
        assert_eq!(clauses[1].value, Value::Num(0.5));
        assert_eq!(clauses[1].text, "metrics.`val acc` >= 0.5");
        assert!(parse(None).unwrap().is_empty());
        assert!(parse(Some("  ")).unwrap().is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_evaluate_naming_the_clause() {
        for (bad, named) in [
            (
                "metrics.acc > 0.5 OR metrics.acc < 0.1",
                "OR metrics.acc < 0.1",
            ),
            ("params.a IN ('x')", "params.a IN ('x')"),
            ("datasets.name = 'x'", "datasets.name = 'x'"),
            ("metrics.acc >", "metrics.acc >"),
            ("params.a = 'open", "params.a = 'open"),
        ] {
            let e = parse(Some(bad)).unwrap_err();
            assert_eq!(e.kind(), "invalid_request", "{bad}");
            assert!(e.to_string().contains(named), "{bad}: {e}");
        }
        let clause = &parse(Some("params.a > 'x'")).unwrap()[0];
        assert_eq!(
            condition(clause, "value", Kind::Text).unwrap_err().kind(),
            "invalid_request"
        );
        let clause = &parse(Some("metrics.a = 'x'")).unwrap()[0];
        assert!(condition(clause, "value", Kind::Number).is_err());
        let clause = &parse(Some("metrics.a > 1e-3")).unwrap()[0];
        assert_eq!(
            condition(clause, "m.value", Kind::Number).unwrap(),
            ("m.value > ?".to_owned(), SqlValue::Real(1e-3))
        );
    }

    #[test]
    fn order_by_clauses() {
        assert_eq!(
            parse_order("metrics.`acc` DESC").unwrap(),
            (Field::Metric("acc".into()), false)
        );
        assert_eq!(
            parse_order("attributes.start_time").unwrap(),
            (Field::Attribute("start_time".into()), true)
        );
        assert_eq!(
            parse_order("start_time sideways").unwrap_err().kind(),
            "invalid_request"
        );
    }
}
