//! Parsing of `FilterString`: a tokenizer for the SQL-like string form, the conversion
//! of the array form into the same tokens, and a recursive-descent parser over them.
//!
//! Error messages are Chinese because they reach the caller inside a K3Cloud reply.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::{CompareOp, Filter, FilterError, Literal};
use crate::k3cloud::values::get_ci;

/// Parses the SQL-like string form.
pub(super) fn parse_text(text: &str) -> Result<Filter, FilterError> {
    Parser::new(tokenize(text)?).parse_all()
}

/// Parses the array-of-rows form.
pub(super) fn parse_rows(rows: &[Value]) -> Result<Filter, FilterError> {
    Parser::new(array_tokens(rows)?).parse_all()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Text(String),
    Number(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Ident(text) | Token::Number(text) => f.write_str(text),
            Token::Text(text) => write!(f, "'{text}'"),
            Token::Op(op) => f.write_str(op),
            Token::Open => f.write_str("("),
            Token::Close => f.write_str(")"),
            Token::Comma => f.write_str(","),
        }
    }
}

fn describe(token: Option<Token>) -> String {
    token.map_or_else(|| "结尾".to_string(), |token| format!("“{token}”"))
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let starts_value = matches!(
            tokens.last(),
            None | Some(Token::Op(_) | Token::Open | Token::Comma)
        );
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '\'' || ((ch == 'N' || ch == 'n') && chars.get(i + 1) == Some(&'\'')) {
            i += if ch == '\'' { 1 } else { 2 };
            let mut literal = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(FilterError(format!("过滤条件中的字符串未结束：{text}"))),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        literal.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        literal.push(*other);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Text(literal));
        } else if ch.is_ascii_digit()
            || (ch == '-' && starts_value && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Number(chars[start..i].iter().collect()));
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let (token, width) = match (two.as_str(), ch) {
                ("<>", _) => (Token::Op("<>"), 2),
                ("!=", _) => (Token::Op("<>"), 2),
                ("<=", _) => (Token::Op("<="), 2),
                (">=", _) => (Token::Op(">="), 2),
                (_, '=') => (Token::Op("="), 1),
                (_, '<') => (Token::Op("<"), 1),
                (_, '>') => (Token::Op(">"), 1),
                (_, '(') => (Token::Open, 1),
                (_, ')') => (Token::Close, 1),
                (_, ',') => (Token::Comma, 1),
                _ => {
                    return Err(FilterError(format!(
                        "过滤条件中有无法识别的字符“{ch}”：{text}"
                    )));
                }
            };
            tokens.push(token);
            i += width;
        }
    }
    Ok(tokens)
}

/// Turns the documented array form into tokens of the string form.
fn array_tokens(rows: &[Value]) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let Value::Object(row) = row else {
            return Err(FilterError(format!("过滤条件第{}行不是对象", index + 1)));
        };
        let text = |key: &str| match get_ci(row, key) {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            _ => String::new(),
        };
        for _ in text("Left").chars().filter(|ch| *ch == '(') {
            tokens.push(Token::Open);
        }
        let field = text("FieldName");
        if field.trim().is_empty() {
            return Err(FilterError(format!(
                "过滤条件第{}行缺少FieldName",
                index + 1
            )));
        }
        tokens.push(Token::Ident(field.trim().to_string()));
        let compare = text("Compare");
        let op = match compare.trim() {
            "67" | "=" => "=",
            "<>" | "!=" => "<>",
            "<" => "<",
            "<=" => "<=",
            ">" => ">",
            ">=" => ">=",
            other => {
                return Err(FilterError(format!(
                    "过滤条件第{}行的比较符“{other}”不受支持",
                    index + 1
                )));
            }
        };
        tokens.push(Token::Op(op));
        match get_ci(row, "Value") {
            Some(Value::Number(number)) => tokens.push(Token::Number(number.to_string())),
            _ => tokens.push(Token::Text(text("Value"))),
        }
        for _ in text("Right").chars().filter(|ch| *ch == ')') {
            tokens.push(Token::Close);
        }
        if index + 1 < rows.len() {
            let logic = if text("Logic").trim() == "1" {
                "OR"
            } else {
                "AND"
            };
            tokens.push(Token::Ident(logic.to_string()));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn new(tokens: Vec<Token>) -> Parser {
        Parser {
            tokens,
            position: 0,
        }
    }

    fn parse_all(mut self) -> Result<Filter, FilterError> {
        let filter = self.parse_or()?;
        match self.peek() {
            None => Ok(filter),
            Some(token) => Err(FilterError(format!("过滤条件在“{token}”处有多余内容"))),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        match self.peek() {
            Some(Token::Ident(word)) if word.eq_ignore_ascii_case(keyword) => {
                self.position += 1;
                true
            }
            _ => false,
        }
    }

    fn parse_or(&mut self) -> Result<Filter, FilterError> {
        let mut children = vec![self.parse_and()?];
        while self.eat_keyword("OR") {
            children.push(self.parse_and()?);
        }
        Ok(if children.len() == 1 {
            children.remove(0)
        } else {
            Filter::Or(children)
        })
    }

    fn parse_and(&mut self) -> Result<Filter, FilterError> {
        let mut children = vec![self.parse_unary()?];
        while self.eat_keyword("AND") {
            children.push(self.parse_unary()?);
        }
        Ok(if children.len() == 1 {
            children.remove(0)
        } else {
            Filter::And(children)
        })
    }

    fn parse_unary(&mut self) -> Result<Filter, FilterError> {
        if self.eat_keyword("NOT") {
            return Ok(Filter::Not(Box::new(self.parse_unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.position += 1;
            let inner = self.parse_or()?;
            return match self.next() {
                Some(Token::Close) => Ok(inner),
                _ => Err(FilterError("过滤条件的括号不匹配".to_string())),
            };
        }
        self.parse_predicate()
    }

    fn parse_predicate(&mut self) -> Result<Filter, FilterError> {
        let field = match self.next() {
            Some(Token::Ident(field)) => field,
            other => {
                return Err(FilterError(format!(
                    "过滤条件此处应为字段名，实际为{}",
                    describe(other)
                )));
            }
        };
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            if !self.eat_keyword("NULL") {
                return Err(FilterError(format!("字段{field}的IS之后应为NULL")));
            }
            return Ok(Filter::IsNull { field, negated });
        }
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            return self.parse_in(field, negated);
        }
        if self.eat_keyword("LIKE") {
            return match self.next() {
                Some(Token::Text(pattern)) => Ok(Filter::Like {
                    field,
                    pattern,
                    negated,
                }),
                _ => Err(FilterError(format!("字段{field}的LIKE之后应为字符串"))),
            };
        }
        if negated {
            return Err(FilterError(format!("字段{field}的NOT之后应为IN或LIKE")));
        }
        let op = match self.next() {
            Some(Token::Op("=")) => CompareOp::Eq,
            Some(Token::Op("<>")) => CompareOp::Ne,
            Some(Token::Op("<")) => CompareOp::Lt,
            Some(Token::Op("<=")) => CompareOp::Le,
            Some(Token::Op(">")) => CompareOp::Gt,
            Some(Token::Op(">=")) => CompareOp::Ge,
            other => {
                return Err(FilterError(format!(
                    "字段{field}之后应为比较符，实际为{}",
                    describe(other)
                )));
            }
        };
        let value = self.parse_literal()?;
        Ok(Filter::Compare { field, op, value })
    }

    fn parse_in(&mut self, field: String, negated: bool) -> Result<Filter, FilterError> {
        if self.next() != Some(Token::Open) {
            return Err(FilterError(format!("字段{field}的IN之后应为括号")));
        }
        let mut values = vec![self.parse_literal()?];
        loop {
            match self.next() {
                Some(Token::Comma) => values.push(self.parse_literal()?),
                Some(Token::Close) => break,
                _ => return Err(FilterError(format!("字段{field}的IN列表未结束"))),
            }
        }
        Ok(Filter::In {
            field,
            values,
            negated,
        })
    }

    fn parse_literal(&mut self) -> Result<Literal, FilterError> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Literal::Text(text)),
            Some(Token::Number(text)) => Decimal::from_str(&text)
                .map(Literal::Number)
                .map_err(|_| FilterError(format!("过滤条件中的数值“{text}”无效"))),
            other => Err(FilterError(format!(
                "过滤条件此处应为值，实际为{}",
                describe(other)
            ))),
        }
    }
}
