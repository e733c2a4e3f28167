//! Just enough of a Ruby lexer to read Podfiles and podspecs without running Ruby.
//!
//! It knows where strings, comments, heredocs, symbols, `%w[]` lists and regexes start and end
//! (so that a `'`, `#` or `end` inside them is never taken for code), groups tokens into
//! statements, and tells how each statement changes the `do`/`end` nesting. Everything above
//! that (what a `pod` line means) lives in the readers.

use super::{MAX_NESTING, ManifestError, check_size};

/// One piece of a string literal: text, or the source of a `#{…}` interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StrPart {
    Text(String),
    Code(String),
}

/// A string literal, with where its content sits in the file (for byte-exact rewrites).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RubyStr {
    pub parts: Vec<StrPart>,
    /// A backtick or `%x` string: a shell command, not data.
    pub shell: bool,
    /// A heredoc: its content is elsewhere in the file.
    pub heredoc: bool,
    /// Byte range of the content between the quotes.
    pub content: (usize, usize),
}

impl RubyStr {
    /// The value when the string has no interpolation and is not a shell command.
    pub fn literal(&self) -> Option<String> {
        if self.shell || self.heredoc {
            return None;
        }
        let mut value = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text(text) => value.push_str(text),
                StrPart::Code(_) => return None,
            }
        }
        Some(value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An identifier or keyword, with a trailing `!` or `?` when present.
    Ident(String),
    /// `key:` in a Ruby 1.9 hash (`git: 'url'`).
    Label(String),
    /// `:name`.
    Symbol(String),
    Str(RubyStr),
    /// `%w[a b]` / `%i[a b]`.
    Words(Vec<String>),
    Number(String),
    /// `$name` or `@name`.
    Variable(String),
    Punct(String),
    Newline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 1-based line where the token starts.
    pub line: usize,
    /// Byte range of the token in the source.
    pub span: (usize, usize),
}

impl Token {
    pub fn is_ident(&self, name: &str) -> bool {
        matches!(&self.tok, Tok::Ident(n) if n == name)
    }

    pub fn is_punct(&self, p: &str) -> bool {
        matches!(&self.tok, Tok::Punct(q) if q == p)
    }

    pub fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(n) => Some(n),
            _ => None,
        }
    }
}

/// Tokens between two statement breaks (newline or `;` outside brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub tokens: Vec<Token>,
    pub line: usize,
}

/// Keywords that open a block closed by `end` when they start an expression.
const OPENERS: &[&str] = &[
    "if", "unless", "while", "until", "case", "begin", "def", "class", "module", "for",
];

/// Keywords after which a `do` belongs to the loop, not to a new block.
const LOOPS: &[&str] = &["while", "until", "for"];

impl Statement {
    /// How much this statement changes the `do`/`end` nesting: `target 'A' do` is +1, `end` is
    /// -1, a one-line `if x then y end` is 0.
    pub fn depth_delta(&self) -> i32 {
        let mut delta = 0;
        let mut loop_open = false;
        for (i, token) in self.tokens.iter().enumerate() {
            let Some(word) = token.ident() else { continue };
            let after_dot = i > 0 && self.tokens[i - 1].is_punct(".");
            if after_dot {
                continue;
            }
            let starts_expression = i == 0
                || matches!(&self.tokens[i - 1].tok, Tok::Punct(p) if ["=", "(", "||=", "+=", "<<", "&&", "||"].contains(&p.as_str()));
            if OPENERS.contains(&word) && starts_expression {
                delta += 1;
                loop_open |= LOOPS.contains(&word);
            } else if word == "do" {
                if loop_open {
                    loop_open = false;
                } else {
                    delta += 1;
                }
            } else if word == "end" {
                delta -= 1;
            }
        }
        delta
    }

    pub fn first_ident(&self) -> Option<&str> {
        self.tokens.first().and_then(Token::ident)
    }

    /// Index of a trailing `do` (followed only by `|args|`), if any.
    pub fn do_index(&self) -> Option<usize> {
        let mut end = self.tokens.len();
        if end > 0 && self.tokens[end - 1].is_punct("|") {
            let open = self.tokens[..end - 1]
                .iter()
                .rposition(|t| t.is_punct("|"))?;
            end = open;
        } else if end > 0 && self.tokens[end - 1].is_punct("||") {
            end -= 1;
        }
        (end > 0 && self.tokens[end - 1].is_ident("do")).then(|| end - 1)
    }

    /// The block parameter of a trailing `do |s|`.
    pub fn block_param(&self) -> Option<&str> {
        let n = self.tokens.len();
        if n >= 3 && self.tokens[n - 1].is_punct("|") && self.tokens[n - 3].is_punct("|") {
            return self.tokens[n - 2].ident();
        }
        None
    }

    /// True when the statement carries a modifier `if`/`unless` (`pod 'A' if x`).
    pub fn has_modifier_condition(&self) -> bool {
        self.modifier_index().is_some()
    }

    /// Index of the modifier `if`/`unless` of `pod 'A' if x`, outside any brackets.
    pub fn modifier_index(&self) -> Option<usize> {
        let mut depth = 0i32;
        for (i, token) in self.tokens.iter().enumerate() {
            match &token.tok {
                Tok::Punct(p) if ["(", "[", "{"].contains(&p.as_str()) => depth += 1,
                Tok::Punct(p) if [")", "]", "}"].contains(&p.as_str()) => depth -= 1,
                Tok::Ident(w) if depth == 0 && i > 0 && (w == "if" || w == "unless") => {
                    return Some(i);
                }
                _ => {}
            }
        }
        None
    }
}

/// Splits tokens on commas that are not inside brackets.
pub(crate) fn split_top_level_commas(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        match &token.tok {
            Tok::Punct(p) if ["(", "[", "{"].contains(&p.as_str()) => depth += 1,
            Tok::Punct(p) if [")", "]", "}"].contains(&p.as_str()) => depth -= 1,
            Tok::Punct(p) if p == "," && depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    parts
}

/// Removes one pair of parentheses around a whole argument list: `pod('A', '1.0')`.
pub(crate) fn strip_call_parens(tokens: &[Token]) -> &[Token] {
    let n = tokens.len();
    if n >= 2 && tokens[0].is_punct("(") && tokens[n - 1].is_punct(")") {
        let mut depth = 0;
        for (i, token) in tokens.iter().enumerate() {
            if token.is_punct("(") {
                depth += 1;
            } else if token.is_punct(")") {
                depth -= 1;
                if depth == 0 && i != n - 1 {
                    return tokens;
                }
            }
        }
        return &tokens[1..n - 1];
    }
    tokens
}

/// Operators that, at the end of a line, continue the statement on the next line.
const CONTINUATIONS: &[&str] = &[
    ",", "=>", "=", "+", "-", "*", "&&", "||", ".", "+=", "||=", "<<", "?", ":", "==", "!=",
];

/// Reads a manifest into statements, refusing before any work a file larger than
/// [`super::MAX_MANIFEST_BYTES`] and, after grouping, blocks nested deeper than [`MAX_NESTING`]:
/// the readers above recurse once per block, so the limit bounds their stack whatever the input.
/// `kind` names the file in sentences ("Podfile", "podspec").
pub(crate) fn read_statements(kind: &str, text: &str) -> Result<Vec<Statement>, ManifestError> {
    check_size(kind, text)?;
    let statements = statements(tokenize(text)?);
    check_nesting(kind, text, &statements)?;
    Ok(statements)
}

/// Fails on the first statement that opens a block deeper than [`MAX_NESTING`].
fn check_nesting(kind: &str, text: &str, statements: &[Statement]) -> Result<(), ManifestError> {
    let mut depth: i64 = 0;
    for statement in statements {
        depth += i64::from(statement.depth_delta());
        if depth > MAX_NESTING as i64 {
            return Err(ManifestError {
                line: statement.line,
                message: format!(
                    "the {kind} nests deeper than {MAX_NESTING} blocks here (`{}`): Convoy reads \
                     at most {MAX_NESTING} levels of `do`/`end`; flatten the nesting",
                    snippet(text, &statement.tokens)
                ),
            });
        }
    }
    Ok(())
}

/// Groups tokens into statements.
pub(crate) fn statements(tokens: Vec<Token>) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let mut depth = 0i32;
    for token in tokens {
        match &token.tok {
            Tok::Punct(p) if ["(", "[", "{"].contains(&p.as_str()) => depth += 1,
            Tok::Punct(p) if [")", "]", "}"].contains(&p.as_str()) => depth -= 1,
            _ => {}
        }
        let is_break = match &token.tok {
            Tok::Newline => {
                let continues = current.last().is_some_and(
                    |t| matches!(&t.tok, Tok::Punct(p) if CONTINUATIONS.contains(&p.as_str())),
                );
                depth <= 0 && !continues
            }
            Tok::Punct(p) => p == ";" && depth <= 0,
            _ => false,
        };
        if is_break {
            flush(&mut current, &mut out);
        } else if !matches!(token.tok, Tok::Newline) {
            current.push(token);
        }
    }
    flush(&mut current, &mut out);
    out
}

fn flush(current: &mut Vec<Token>, out: &mut Vec<Statement>) {
    if let Some(first) = current.first() {
        let line = first.line;
        out.push(Statement {
            tokens: std::mem::take(current),
            line,
        });
    }
}

/// Turns Ruby source into tokens. Fails only on a string, heredoc or regex that never ends.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ManifestError> {
    Lexer::new(text).run()
}

struct PendingHeredoc {
    terminator: String,
    indented: bool,
    line: usize,
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    tokens: Vec<Token>,
    heredocs: Vec<PendingHeredoc>,
    /// Where the token being read starts.
    token_start: usize,
    /// How many `(`, `[` and `{` are open.
    bracket_depth: i32,
    /// How many `#{…}` are open around the current position (each one is a recursive call).
    interpolation_depth: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn closing_delimiter(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        other => other,
    }
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            tokens: Vec::new(),
            heredocs: Vec::new(),
            token_start: 0,
            bracket_depth: 0,
            interpolation_depth: 0,
        }
    }

    fn peek(&self, offset: usize) -> u8 {
        self.bytes.get(self.pos + offset).copied().unwrap_or(0)
    }

    fn push(&mut self, tok: Tok, line: usize) {
        match &tok {
            Tok::Punct(p) if ["(", "[", "{"].contains(&p.as_str()) => self.bracket_depth += 1,
            Tok::Punct(p) if [")", "]", "}"].contains(&p.as_str()) => self.bracket_depth -= 1,
            _ => {}
        }
        let span = (self.token_start, self.pos);
        self.tokens.push(Token { tok, line, span });
    }

    fn error(line: usize, message: &str) -> ManifestError {
        ManifestError {
            line,
            message: message.to_string(),
        }
    }

    /// True when the next token starts a statement (so `platform:ios` is a call, not a label).
    /// A line after a trailing `,` or inside brackets continues the statement before it, so
    /// `  branch: 'dev'` there is still a label.
    fn at_statement_start(&self) -> bool {
        match self.tokens.last() {
            None => return true,
            Some(t) if !matches!(&t.tok, Tok::Newline) && !t.is_punct(";") => return false,
            Some(_) => {}
        }
        let before_break = self
            .tokens
            .iter()
            .rev()
            .find(|t| !matches!(&t.tok, Tok::Newline));
        let continued = before_break.is_some_and(
            |t| matches!(&t.tok, Tok::Punct(p) if CONTINUATIONS.contains(&p.as_str())),
        );
        self.bracket_depth <= 0 && !continued
    }

    /// True when a `/` here starts a regex rather than a division.
    fn regex_allowed(&self) -> bool {
        match self.tokens.last().map(|t| &t.tok) {
            None | Some(Tok::Newline) => true,
            Some(Tok::Punct(p)) => ![")", "]", "}"].contains(&p.as_str()),
            Some(Tok::Ident(w)) => {
                ["if", "unless", "when", "and", "or", "not", "return"].contains(&w.as_str())
            }
            _ => false,
        }
    }

    fn run(mut self) -> Result<Vec<Token>, ManifestError> {
        if self.text.starts_with("=begin") {
            self.skip_block_comment()?;
        }
        while self.pos < self.bytes.len() {
            self.step()?;
        }
        if let Some(pending) = self.heredocs.first() {
            return Err(Self::error(
                pending.line,
                &format!("heredoc `{}` is never closed", pending.terminator),
            ));
        }
        Ok(self.tokens)
    }

    fn step(&mut self) -> Result<(), ManifestError> {
        let b = self.peek(0);
        let line = self.line;
        self.token_start = self.pos;
        match b {
            b'\n' => {
                self.pos += 1;
                self.push(Tok::Newline, line);
                self.line += 1;
                self.read_heredoc_bodies()?;
                let rest = &self.text[self.pos..];
                if rest.starts_with("=begin") {
                    self.skip_block_comment()?;
                } else if rest
                    .lines()
                    .next()
                    .is_some_and(|l| l.trim_end() == "__END__")
                {
                    // Everything after `__END__` is data, not code.
                    self.pos = self.bytes.len();
                }
            }
            b' ' | b'\t' | b'\r' => self.pos += 1,
            b'\\' if self.peek(1) == b'\n' => {
                // An explicit line continuation: the statement goes on.
                self.pos += 2;
                self.line += 1;
            }
            b'#' => self.skip_comment(),
            b'\'' | b'"' | b'`' => {
                self.pos += 1;
                let s = self.read_string(b, b, b != b'\'', b == b'`')?;
                self.push(Tok::Str(s), line);
            }
            b'%' if self.percent_literal_ahead() => self.read_percent_literal()?,
            b'<' if self.heredoc_ahead() => self.read_heredoc_start(),
            b'/' if self.regex_allowed() => {
                self.pos += 1;
                let mut s = self.read_string(b'/', b'/', true, false)?;
                while is_ident_char(self.peek(0)) {
                    self.pos += 1;
                }
                // A regex is not data Convoy reads; keep it as an opaque interpolated string.
                s.parts.push(StrPart::Code(String::new()));
                self.push(Tok::Str(s), line);
            }
            b':' => self.read_colon(),
            b'$' | b'@' => {
                let start = self.pos;
                self.pos += 1;
                while self.peek(0) == b'@' || is_ident_char(self.peek(0)) {
                    self.pos += 1;
                }
                self.push(Tok::Variable(self.text[start..self.pos].to_string()), line);
            }
            b if b.is_ascii_digit() => {
                let start = self.pos;
                while self.peek(0).is_ascii_alphanumeric()
                    || self.peek(0) == b'_'
                    || (self.peek(0) == b'.' && self.peek(1).is_ascii_digit())
                {
                    self.pos += 1;
                }
                self.push(Tok::Number(self.text[start..self.pos].to_string()), line);
            }
            b if is_ident_start(b) => self.read_ident(),
            _ => self.read_punct(),
        }
        Ok(())
    }

    fn skip_comment(&mut self) {
        while self.pos < self.bytes.len() && self.peek(0) != b'\n' {
            self.pos += 1;
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), ManifestError> {
        let line = self.line;
        loop {
            let Some(end) = self.text[self.pos..].find('\n') else {
                return Err(Self::error(
                    line,
                    "`=begin` comment is never closed by `=end`",
                ));
            };
            let is_end = self.text[self.pos..].starts_with("=end");
            self.pos += end + 1;
            self.line += 1;
            if is_end {
                return Ok(());
            }
        }
    }

    fn read_ident(&mut self) {
        let line = self.line;
        let start_of_statement = self.at_statement_start();
        let start = self.pos;
        while is_ident_char(self.peek(0)) {
            self.pos += 1;
        }
        if (self.peek(0) == b'!' || self.peek(0) == b'?') && self.peek(1) != b'=' {
            self.pos += 1;
        }
        let word = self.text[start..self.pos].to_string();
        let label = self.peek(0) == b':' && self.peek(1) != b':' && !start_of_statement;
        if label {
            self.pos += 1;
            self.push(Tok::Label(word), line);
        } else {
            self.push(Tok::Ident(word), line);
        }
    }

    fn read_colon(&mut self) {
        let line = self.line;
        if self.peek(1) == b':' {
            self.pos += 2;
            self.push(Tok::Punct("::".into()), line);
        } else if is_ident_start(self.peek(1)) {
            self.pos += 1;
            let start = self.pos;
            while is_ident_char(self.peek(0)) {
                self.pos += 1;
            }
            if matches!(self.peek(0), b'!' | b'?' | b'=')
                && self.peek(1) != b'>'
                && self.peek(1) != b'='
            {
                self.pos += 1;
            }
            self.push(Tok::Symbol(self.text[start..self.pos].to_string()), line);
        } else if self.peek(1) == b'"' || self.peek(1) == b'\'' {
            let quote = self.peek(1);
            self.pos += 2;
            match self.read_string(quote, quote, quote == b'"', false) {
                Ok(s) => {
                    let name = s.literal().unwrap_or_default();
                    self.push(Tok::Symbol(name), line);
                }
                Err(_) => self.push(Tok::Punct(":".into()), line),
            }
        } else {
            self.pos += 1;
            self.push(Tok::Punct(":".into()), line);
        }
    }

    fn read_punct(&mut self) {
        const MULTI: &[&str] = &[
            "**=", "<=>", "===", "||=", "&&=", "=>", "==", "!=", "=~", "<=", ">=", "&&", "||",
            "<<", "+=", "-=", "*=", "->", "..",
        ];
        let line = self.line;
        let rest = &self.text[self.pos..];
        for op in MULTI {
            if rest.starts_with(op) {
                self.pos += op.len();
                self.push(Tok::Punct((*op).to_string()), line);
                return;
            }
        }
        let ch = rest.chars().next().unwrap_or(' ');
        self.pos += ch.len_utf8();
        self.push(Tok::Punct(ch.to_string()), line);
    }

    /// Reads a string body after its opening delimiter, up to the matching `close`.
    fn read_string(
        &mut self,
        open: u8,
        close: u8,
        interpolates: bool,
        shell: bool,
    ) -> Result<RubyStr, ManifestError> {
        let line = self.line;
        let content_start = self.pos;
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut nesting = 0;
        loop {
            if self.pos >= self.bytes.len() {
                return Err(Self::error(line, "string opened here is never closed"));
            }
            let b = self.peek(0);
            if b == b'\\' {
                let next = self.text[self.pos + 1..].chars().next().unwrap_or('\\');
                let keep_backslash = !interpolates && next != close as char && next != '\\';
                if keep_backslash {
                    text.push('\\');
                }
                text.push(next);
                if next == '\n' {
                    self.line += 1;
                }
                self.pos += 1 + next.len_utf8();
                continue;
            }
            if b == close && nesting == 0 {
                let content = (content_start, self.pos);
                self.pos += 1;
                if !text.is_empty() {
                    parts.push(StrPart::Text(text));
                }
                return Ok(RubyStr {
                    parts,
                    shell,
                    heredoc: false,
                    content,
                });
            }
            if open != close && b == open {
                nesting += 1;
            } else if open != close && b == close {
                nesting -= 1;
            }
            if interpolates && b == b'#' && self.peek(1) == b'{' {
                if !text.is_empty() {
                    parts.push(StrPart::Text(std::mem::take(&mut text)));
                }
                let code = self.read_interpolation(line)?;
                parts.push(StrPart::Code(code));
                continue;
            }
            let ch = self.text[self.pos..].chars().next().unwrap_or(' ');
            if ch == '\n' {
                self.line += 1;
            }
            text.push(ch);
            self.pos += ch.len_utf8();
        }
    }

    /// Reads `#{…}` and returns the code inside, skipping over strings nested in it. Strings
    /// inside may interpolate again, so the nesting is limited to keep the recursion shallow.
    fn read_interpolation(&mut self, line: usize) -> Result<String, ManifestError> {
        if self.interpolation_depth >= MAX_NESTING {
            return Err(Self::error(
                self.line,
                &format!(
                    "string interpolation nests deeper than {MAX_NESTING} levels here: Convoy \
                     reads at most {MAX_NESTING}; simplify the string"
                ),
            ));
        }
        self.interpolation_depth += 1;
        let code = self.read_interpolation_body(line);
        self.interpolation_depth -= 1;
        code
    }

    fn read_interpolation_body(&mut self, line: usize) -> Result<String, ManifestError> {
        self.pos += 2;
        let start = self.pos;
        let mut depth = 1;
        while self.pos < self.bytes.len() {
            let b = self.peek(0);
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        let code = self.text[start..self.pos].to_string();
                        self.pos += 1;
                        return Ok(code);
                    }
                }
                b'\'' | b'"' => {
                    self.pos += 1;
                    self.read_string(b, b, b == b'"', false)?;
                    continue;
                }
                b'\n' => self.line += 1,
                _ => {}
            }
            self.pos += 1;
        }
        Err(Self::error(
            line,
            "string interpolation opened here is never closed",
        ))
    }

    fn percent_literal_ahead(&self) -> bool {
        let kind = self.peek(1);
        let delimiter_ok = |d: u8| d.is_ascii_punctuation() && d != b'=';
        if b"wWiIqQx".contains(&kind) {
            return delimiter_ok(self.peek(2));
        }
        // `%(text)` and friends, but not `a % b`.
        matches!(kind, b'(' | b'[' | b'{' | b'<' | b'|' | b'!') && self.regex_allowed()
    }

    fn read_percent_literal(&mut self) -> Result<(), ManifestError> {
        let line = self.line;
        let mut kind = self.peek(1);
        self.pos += 1;
        if kind.is_ascii_alphabetic() {
            self.pos += 1;
        } else {
            kind = b'Q';
        }
        let open = self.peek(0);
        self.pos += 1;
        let close = closing_delimiter(open);
        let interpolates = matches!(kind, b'W' | b'I' | b'Q' | b'x');
        let s = self.read_string(open, close, interpolates, kind == b'x')?;
        if matches!(kind, b'w' | b'W' | b'i' | b'I') {
            let words = s
                .literal()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            self.push(Tok::Words(words), line);
        } else {
            self.push(Tok::Str(s), line);
        }
        Ok(())
    }

    fn heredoc_ahead(&self) -> bool {
        if self.peek(1) != b'<' {
            return false;
        }
        match self.peek(2) {
            b'~' | b'-' => {
                let c = self.peek(3);
                is_ident_start(c) || c == b'\'' || c == b'"'
            }
            c => c.is_ascii_uppercase() || c == b'\'' || c == b'"',
        }
    }

    fn read_heredoc_start(&mut self) {
        let line = self.line;
        self.pos += 2;
        let indented = matches!(self.peek(0), b'~' | b'-');
        if indented {
            self.pos += 1;
        }
        let quote = self.peek(0);
        let quoted = quote == b'\'' || quote == b'"';
        if quoted {
            self.pos += 1;
        }
        let start = self.pos;
        while is_ident_char(self.peek(0)) {
            self.pos += 1;
        }
        let terminator = self.text[start..self.pos].to_string();
        if quoted && self.peek(0) == quote {
            self.pos += 1;
        }
        self.heredocs.push(PendingHeredoc {
            terminator,
            indented,
            line,
        });
        let s = RubyStr {
            parts: Vec::new(),
            shell: false,
            heredoc: true,
            content: (self.pos, self.pos),
        };
        self.push(Tok::Str(s), line);
    }

    /// After a newline: skips the bodies of heredocs started on the line just ended.
    fn read_heredoc_bodies(&mut self) -> Result<(), ManifestError> {
        for pending in std::mem::take(&mut self.heredocs) {
            loop {
                if self.pos >= self.bytes.len() {
                    return Err(Self::error(
                        pending.line,
                        &format!("heredoc `{}` is never closed", pending.terminator),
                    ));
                }
                let end = self.text[self.pos..]
                    .find('\n')
                    .map_or(self.bytes.len(), |i| self.pos + i);
                let body_line = &self.text[self.pos..end];
                let candidate = if pending.indented {
                    body_line.trim()
                } else {
                    body_line.trim_end_matches('\r')
                };
                self.pos = (end + 1).min(self.bytes.len());
                self.line += 1;
                if candidate == pending.terminator {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// The source text of tokens, shortened for a warning message.
pub(crate) fn snippet(text: &str, tokens: &[Token]) -> String {
    let (Some(first), Some(last)) = (tokens.first(), tokens.last()) else {
        return String::new();
    };
    let raw = text.get(first.span.0..last.span.1).unwrap_or("");
    let one_line = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    shorten(&one_line)
}

fn shorten(raw: &str) -> String {
    let mut short: String = raw.chars().take(70).collect();
    if short.len() < raw.len() {
        short.push('…');
    }
    short
}

/// The source line holding byte `offset`, trimmed and shortened, for warning messages. Only
/// that line is scanned, so a warning costs nothing in the size of the file.
pub(crate) fn source_line_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    shorten(text[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements_of(text: &str) -> Vec<Statement> {
        statements(tokenize(text).unwrap())
    }

    #[test]
    fn a_trailing_comma_continues_the_statement_on_the_next_line() {
        let s = statements_of("pod 'A',\n  :git => 'u'\npod 'B'\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].line, 1);
        assert_eq!(s[1].line, 3);
    }

    #[test]
    fn quotes_and_hashes_inside_strings_are_not_code() {
        let s = statements_of("x = \"it's # not a comment\" # comment 'here\ny = 1\n");
        assert_eq!(s.len(), 2);
        let Tok::Str(value) = &s[0].tokens[2].tok else {
            panic!("expected a string")
        };
        assert_eq!(value.literal().as_deref(), Some("it's # not a comment"));
    }

    #[test]
    fn a_heredoc_body_with_end_in_it_does_not_close_a_block() {
        let text =
            "Pod::Spec.new do |s|\n  s.description = <<-DESC\n  the end\n end\n  DESC\nend\n";
        let s = statements_of(text);
        let total: i32 = s.iter().map(Statement::depth_delta).sum();
        assert_eq!(total, 0);
        assert_eq!(s.last().unwrap().line, 6);
    }

    #[test]
    fn a_modifier_if_does_not_open_a_block_but_a_leading_if_does() {
        assert_eq!(statements_of("x = 1 if y\n")[0].depth_delta(), 0);
        assert_eq!(statements_of("if y\n")[0].depth_delta(), 1);
        assert_eq!(statements_of("foo.each do |t|\n")[0].depth_delta(), 1);
        assert_eq!(statements_of("while x do\n")[0].depth_delta(), 1);
    }

    #[test]
    fn platform_without_a_space_is_a_call_with_a_symbol() {
        let s = statements_of("platform:ios, '8.0'\n");
        assert!(s[0].tokens[0].is_ident("platform"));
        assert_eq!(s[0].tokens[1].tok, Tok::Symbol("ios".into()));
    }

    #[test]
    fn a_ruby_19_hash_key_is_a_label() {
        let s = statements_of("pod 'A', git: 'u'\n");
        assert_eq!(s[0].tokens[3].tok, Tok::Label("git".into()));
    }

    #[test]
    fn a_key_on_a_continuation_line_is_still_a_label() {
        let s = statements_of("pod 'A',\n  git: 'u',\n  branch: 'b'\n");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].tokens[3].tok, Tok::Label("git".into()));
        assert_eq!(s[0].tokens[6].tok, Tok::Label("branch".into()));
    }

    #[test]
    fn block_comments_and_the_data_after_end_marker_are_not_code() {
        let s = statements_of("=begin\npod 'A'\n=end\npod 'B'\n__END__\npod 'C'\n");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].line, 4);
    }

    #[test]
    fn percent_words_become_one_token() {
        let s = statements_of("pod 'A', subspecs: %w[B C]\n");
        assert_eq!(
            s[0].tokens[4].tok,
            Tok::Words(vec!["B".to_string(), "C".to_string()])
        );
    }

    #[test]
    fn an_unclosed_string_is_an_error_naming_its_line() {
        let err = tokenize("a = 1\nb = 'oops\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.message, "string opened here is never closed");
    }

    #[test]
    fn interpolation_with_quotes_inside_is_one_string() {
        let s = statements_of("x = \"a #{ENV['B']} c\"\ny\n");
        assert_eq!(s.len(), 2);
        let Tok::Str(value) = &s[0].tokens[2].tok else {
            panic!("expected a string")
        };
        assert_eq!(value.parts[1], StrPart::Code("ENV['B']".to_string()));
        assert_eq!(value.literal(), None);
    }

    #[test]
    fn interpolation_nested_deeper_than_the_limit_is_an_error_not_a_stack_overflow() {
        let depth = 10_000;
        let text = format!("x = {}{}\n", "\"#{".repeat(depth), "}\"".repeat(depth));
        let err = tokenize(&text).unwrap_err();
        assert_eq!(err.line, 1);
        assert_eq!(
            err.message,
            "string interpolation nests deeper than 64 levels here: Convoy reads at most 64; \
             simplify the string"
        );
        let shallow = format!("x = {}{}\n", "\"#{".repeat(64), "}\"".repeat(64));
        assert!(tokenize(&shallow).is_ok());
    }

    #[test]
    fn a_podspec_nested_deeper_than_the_limit_is_an_error_naming_the_line() {
        let text = format!("{}{}", "foo do\n".repeat(100), "end\n".repeat(100));
        let err = read_statements("podspec", &text).unwrap_err();
        assert_eq!(err.line, 65);
        assert!(
            err.message
                .starts_with("the podspec nests deeper than 64 blocks here (`foo do`)")
        );
    }

    #[test]
    fn the_source_line_of_an_offset_is_that_line_only() {
        let text = "a = 1\n  if ENV['CI']  \nb\n";
        assert_eq!(source_line_at(text, 8), "if ENV['CI']");
        assert_eq!(source_line_at(text, 0), "a = 1");
    }
}
