//! Which columns hold personal data. A column is classified from three kinds of
//! evidence: its name (in the naming styles and languages real schemas use), its
//! type, and a bounded sample of its values checked against validators (Luhn for
//! cards, the IBAN checksum, email syntax, phone forms, IP addresses). Pure: the
//! caller reads the sample. Sampled values never leave here unmasked.

mod names;
pub mod validators;

use serde::Serialize;
use tether_schema::{Column, DataType};

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalClass {
    Email,
    PersonName,
    Phone,
    PostalAddress,
    BirthDate,
    NationalId,
    PaymentCard,
    BankAccount,
    IpAddress,
    /// Passwords, tokens, API keys, login names.
    Credential,
    /// Free text that may hold any of the others (notes, comments, messages).
    FreeText,
    /// Precise location: coordinates, geometry points.
    Location,
    /// A device's identifier: MAC address, IMEI, advertising id.
    DeviceId,
}

impl PersonalClass {
    pub fn name(self) -> &'static str {
        match self {
            PersonalClass::Email => "email",
            PersonalClass::PersonName => "person name",
            PersonalClass::Phone => "phone",
            PersonalClass::PostalAddress => "postal address",
            PersonalClass::BirthDate => "date of birth",
            PersonalClass::NationalId => "national id",
            PersonalClass::PaymentCard => "payment card",
            PersonalClass::BankAccount => "bank account",
            PersonalClass::IpAddress => "IP address",
            PersonalClass::Credential => "credential",
            PersonalClass::FreeText => "free text",
            PersonalClass::Location => "location",
            PersonalClass::DeviceId => "device identifier",
        }
    }
}

impl std::fmt::Display for PersonalClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a column is thought to hold personal data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub class: PersonalClass,
    /// 0 to 1: name alone about 0.6-0.85, name and values agreeing 0.95.
    pub confidence: f64,
    /// Name, type and sample evidence, for people (samples masked).
    pub evidence: Vec<String>,
    /// The transformer to use.
    pub transformer: Suggestion,
}

/// A transformer kind and its options (one line of TOML, possibly empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub kind: String,
    pub options: String,
}

impl Suggestion {
    fn new(kind: &str, options: &str) -> Suggestion {
        Suggestion {
            kind: kind.to_string(),
            options: options.to_string(),
        }
    }
}

/// Kinds with an option that keeps their outputs distinct, for unique columns.
const UNIQUE_FORMS: &[&str] = &["email", "username"];

impl Suggestion {
    /// The suggestion for a column whose values must stay distinct (its own primary
    /// or unique key): the kind's unique form (`email`, `username`: `unique = true`,
    /// an 8-character token instead of a number, so a large table does not collide).
    /// `Err`: the kind has no unique form and may give two rows one value (the sync
    /// then stops on the duplicate); the suggestion is returned unchanged.
    pub fn for_unique_column(&self) -> Result<Suggestion, &Suggestion> {
        if UNIQUE_FORMS.contains(&self.kind.as_str()) {
            let options = match self.options.as_str() {
                "" => "unique = true".to_string(),
                o if o.contains("unique") => o.to_string(),
                o => format!("{o}, unique = true"),
            };
            return Ok(Suggestion::new(&self.kind, &options));
        }
        // Injective or collision-checked with room (`hash`, `uuid`), or NULL (never
        // a duplicate in a unique key): nothing to change.
        match self.kind.as_str() {
            "hash" | "uuid" | "null" => Ok(self.clone()),
            _ => Err(self),
        }
    }
}

/// As the job file writes it: `"email"`, `{ kind = "date_shift", max_days = 365 }`.
impl std::fmt::Display for Suggestion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.options.is_empty() {
            write!(f, "\"{}\"", self.kind)
        } else {
            write!(f, "{{ kind = \"{}\", {} }}", self.kind, self.options)
        }
    }
}

/// What the classifier knows about a column's table.
pub struct TableContext<'a> {
    pub table: &'a str,
    /// Every column name of the table.
    pub columns: &'a [String],
}

/// Classifies one column; `samples` are its non-null values as text (a bounded
/// sample; empty when the table is empty or unread). None: not personal.
///
/// A JSON column (`DataType::Json`; the caller gives MariaDB's `JSON`, a `longtext`
/// with a `json_valid` CHECK, that type) is judged by the personal data inside its
/// documents, and gets a replacement that is still JSON: any other transformer writes
/// text the column's type or CHECK refuses.
///
/// JSON kept in a text column (SQLite's TEXT, a MariaDB `longtext` without the CHECK)
/// is judged as JSON when every sampled value is a JSON object or array.
///
/// An array column (PostgreSQL's `text[]`) gets no kind that writes one value (the
/// server refuses a scalar there): `null`, or the empty array where NULL is refused.
pub fn classify(ctx: &TableContext<'_>, column: &Column, samples: &[String]) -> Option<Finding> {
    let json_text =
        column.normalized_type.is_text() && samples.len() >= 3 && samples.iter().all(|s| json_document(s).is_some());
    let as_json;
    let column = if json_text {
        as_json = Column {
            normalized_type: DataType::Json,
            ..column.clone()
        };
        &as_json
    } else {
        column
    };
    // An array is judged by its elements, as text; a type read as text by its values,
    // as text.
    let elements: Vec<String>;
    let as_text = Column {
        normalized_type: DataType::Text,
        ..column.clone()
    };
    let (judged, samples) = if crate::fit::is_array(column) {
        elements = samples.iter().flat_map(|s| array_elements(s)).collect();
        (&as_text, elements.as_slice())
    } else if text_like(&column.normalized_type) {
        (&as_text, samples)
    } else {
        (column, samples)
    };
    let mut finding = classify_any(ctx, judged, samples)?;
    if json_text {
        finding
            .evidence
            .push("values: JSON documents kept as text, judged as JSON".into());
    }
    if crate::fit::is_array(column) {
        let scalar = finding.transformer.to_string();
        finding.transformer = if column.nullable {
            Suggestion::new("null", "")
        } else {
            Suggestion::new("constant", "value = \"{}\"")
        };
        finding.evidence.push(format!(
            "type: an array: suggested {} ({scalar} writes one value, which the column refuses)",
            finding.transformer
        ));
        return Some(finding);
    }
    if is_xml(&column.normalized_type) {
        finding.transformer = if column.nullable {
            Suggestion::new("null", "")
        } else {
            Suggestion::new("constant", "value = \"<redacted/>\"")
        };
        finding.evidence.push(format!(
            "type: XML: suggested {} (any other transformer writes text that is not XML)",
            finding.transformer
        ));
    }
    if column.normalized_type == DataType::Json {
        finding.transformer = if column.nullable {
            Suggestion::new("null", "")
        } else {
            Suggestion::new("constant", "value = \"{}\"")
        };
        finding.evidence.push(format!(
            "type: JSON: suggested {} (any other transformer writes text that is not JSON)",
            finding.transformer
        ));
    }
    Some(finding)
}

/// Types the engines hold as text that the neutral types leave as `Other`:
/// PostgreSQL's `xml`, `citext` (in any schema), `name`, `bpchar`, `"char"`; SQLite's
/// columns declared without a type or as `string`. Judged as text: the free-text and
/// phone rules read only text.
fn text_like(ty: &DataType) -> bool {
    let DataType::Other(name) = ty else {
        return false;
    };
    let base = name.rsplit('.').next().unwrap_or(name);
    matches!(
        base,
        "xml" | "citext" | "name" | "bpchar" | "\"char\"" | "any" | "string"
    )
}

fn is_xml(ty: &DataType) -> bool {
    matches!(ty, DataType::Other(name) if name == "xml" || name.ends_with(".xml"))
}

fn classify_any(ctx: &TableContext<'_>, column: &Column, samples: &[String]) -> Option<Finding> {
    let ty = &column.normalized_type;
    if matches!(ty, DataType::Boolean | DataType::Uuid | DataType::Time) {
        return None;
    }
    let words = names::words(&column.name);
    let by_name = by_name(ctx, &words, ty);
    let by_values = by_values(ty, samples);
    // Coordinates written as text are named for what they are (`latitude`); a text
    // `location` is a place name far more often.
    let type_ok = |class: PersonalClass, pattern: &str| {
        type_allows(class, ty) || (class == PersonalClass::Location && ty.is_text() && pattern != "location")
    };
    let shown = |n: usize, what: &str, example: Option<&String>| {
        let ex = example
            .map(|e| format!(", e.g. {}", validators::mask(e)))
            .unwrap_or_default();
        format!("values: {n} of {} sampled {what}{ex}", samples.len())
    };
    match (by_name, by_values) {
        // Values that validate strongly as another class decide over the name
        // (`email_addr` holding email addresses is no postal address).
        (Some((rule, pattern)), Some(v))
            if type_ok(rule.class, pattern) && v.class != rule.class && STRONG_VALUES.contains(&v.class) =>
        {
            Some(Finding {
                class: v.class,
                confidence: v.confidence,
                evidence: vec![
                    format!(
                        "name: `{}` matches `{pattern}` ({}), but the values say otherwise",
                        column.name, rule.class
                    ),
                    format!("type: {}", column.engine_type),
                    shown(v.hits, &v.what, v.example),
                ],
                transformer: suggestion_for_type(default_transformer(v.class), ty),
            })
        }
        (Some((rule, pattern)), values) if type_ok(rule.class, pattern) => {
            let mut evidence = vec![
                format!("name: `{}` matches `{pattern}` ({})", column.name, rule.class),
                format!("type: {}", column.engine_type),
            ];
            let mut confidence = rule.confidence;
            match values {
                Some(v) if v.class == rule.class => {
                    confidence = 0.95;
                    evidence.push(shown(v.hits, &v.what, v.example));
                }
                Some(v) => evidence.push(shown(v.hits, &v.what, v.example)),
                // Names as loose as `accountnumber` or `creditcardapprovalcode`:
                // values that are never a card, an account or an address settle it.
                None if samples.len() >= 5
                    && !validated(rule.class, pattern, ty, samples)
                    && matches!(
                        rule.class,
                        PersonalClass::PaymentCard | PersonalClass::BankAccount | PersonalClass::IpAddress
                    ) =>
                {
                    return None;
                }
                None if samples.len() >= 5 && !validated(rule.class, pattern, ty, samples) => {
                    // Values contradict the name (no email among the sampled values
                    // of `email`): keep it, with less confidence.
                    confidence = (confidence - 0.25).max(0.4);
                    evidence.push(format!(
                        "values: none of {} sampled look like a {}",
                        samples.len(),
                        rule.class
                    ));
                }
                None => {}
            }
            if let Some(how) = stored_as_number(rule.class, ty) {
                evidence.push(how.into());
            }
            Some(Finding {
                class: rule.class,
                confidence,
                evidence,
                transformer: transformer_for(rule, &words, ty),
            })
        }
        (_, Some(v)) => Some(Finding {
            class: v.class,
            confidence: v.confidence,
            evidence: vec![
                format!("name: `{}` says nothing", column.name),
                format!("type: {}", column.engine_type),
                shown(v.hits, &v.what, v.example),
            ],
            transformer: suggestion_for_type(default_transformer(v.class), ty),
        }),
        _ => by_type(column),
    }
}

/// Classes whose values, when most of a sample validates, outweigh a name that says
/// another class: their validators do not pass by chance.
const STRONG_VALUES: &[PersonalClass] = &[
    PersonalClass::Email,
    PersonalClass::PaymentCard,
    PersonalClass::BankAccount,
    PersonalClass::IpAddress,
];

/// Types that say the class on their own (PostgreSQL's `macaddr`, `inet`, `point`).
fn by_type(column: &Column) -> Option<Finding> {
    let DataType::Other(name) = &column.normalized_type else {
        return None;
    };
    let (class, confidence, what) = match name.as_str() {
        "macaddr" | "macaddr8" => (PersonalClass::DeviceId, 0.8, "MAC addresses"),
        "inet" | "cidr" => (PersonalClass::IpAddress, 0.8, "IP addresses"),
        "point" => (PersonalClass::Location, 0.6, "points (coordinates, most often)"),
        _ => return None,
    };
    Some(Finding {
        class,
        confidence,
        evidence: vec![
            format!("name: `{}` says nothing", column.name),
            format!("type: {} holds {what}", column.engine_type),
        ],
        transformer: Suggestion::new(
            match class {
                PersonalClass::IpAddress => "ip",
                _ => "scramble",
            },
            "",
        ),
    })
}

/// How a class is stored when the type is not text: IP addresses as numbers
/// (`INET_ATON`) or bytes (`INET6_ATON`).
fn stored_as_number(class: PersonalClass, ty: &DataType) -> Option<&'static str> {
    match (class, ty) {
        (PersonalClass::IpAddress, DataType::Int { .. }) => Some("type: an IP address stored as a number (INET_ATON)"),
        (PersonalClass::IpAddress, DataType::Binary { .. }) => Some("type: an IP address stored as bytes (INET6_ATON)"),
        _ => None,
    }
}

/// A suggested kind, as the column's type takes it (numbers and bytes: `hash`).
fn suggestion_for_type(kind: &str, ty: &DataType) -> Suggestion {
    match ty {
        DataType::Int { .. } | DataType::Binary { .. } => Suggestion::new("hash", ""),
        _ => Suggestion::new(kind, ""),
    }
}

/// The first rule a name matches, with the pattern, unless a harmless word
/// (`verified`, `type`, `id`) outside the match says otherwise.
fn by_name(ctx: &TableContext<'_>, words: &[String], ty: &DataType) -> Option<(&'static names::Rule, &'static str)> {
    // `address_id` is a key to the address table; a text `LoginID` is a login.
    let key_type = matches!(ty, DataType::Int { .. } | DataType::Uuid);
    let is_harmless = |w: &str| names::HARMLESS.contains(&w) && (key_type || !matches!(w, "id" | "ids"));
    // A partly matched lowercase compound (`addresstypeid`): harmless when what is
    // left starts or ends with a harmless word (`typeid`, `approvalcode`).
    let harmless_rest = |rest: &str| {
        !rest.is_empty()
            && names::HARMLESS
                .iter()
                // As a prefix only words of four letters or more: `hash` is not `has`.
                .any(|h| (rest.ends_with(h) || (h.len() >= 4 && rest.starts_with(h))) && is_harmless(h))
    };
    let harmless = |(range, rest): &(std::ops::Range<usize>, String)| {
        harmless_rest(rest)
            || words
                .iter()
                .enumerate()
                .any(|(i, w)| !range.contains(&i) && is_harmless(w))
    };
    // The match ending last wins (the head of an English compound comes last:
    // `LastLoginIP` is an IP address, not a login), then the longest
    // (`email_address` over `address`), then the rule listed first.
    type Best = (&'static names::Rule, &'static str, (std::ops::Range<usize>, String));
    let mut best: Option<Best> = None;
    for rule in names::RULES {
        for p in rule.patterns {
            if let Some(m) = names::matches(p, words) {
                let better = best
                    .as_ref()
                    .is_none_or(|(_, _, (b, _))| (m.0.end, m.0.len()) > (b.end, b.len()));
                if better {
                    best = Some((rule, p, m));
                }
            }
        }
    }
    if let Some((rule, p, m)) = best {
        return (!harmless(&m)).then_some((rule, p));
    }
    let table_words = names::words(ctx.table);
    // `customer_type` or `contact_status` is a lookup table, not one of people.
    let person_table = table_words
        .iter()
        .any(|w| names::PERSON_TABLES.contains(&names::singular(w)))
        && !table_words.iter().any(|w| names::HARMLESS.contains(&w.as_str()));
    // A bare `name` in a table of people is a person's name.
    if person_table && words.len() == 1 && words[0] == "name" {
        return Some((person_name_rule(), "name (in a table of people)"));
    }
    // City, postcode: personal next to a street address or in a table of people;
    // district, state, province: next to a street address only (a user's `state`
    // is more often `active` than `Texas`).
    for part in names::ADDRESS_PARTS {
        if let Some(m) = names::matches(part, words) {
            if harmless(&m) {
                return None;
            }
            let has_street = ctx.columns.iter().any(|c| {
                let w = names::words(c);
                names::RULES
                    .iter()
                    .filter(|r| r.class == PersonalClass::PostalAddress)
                    .any(|r| r.patterns.iter().any(|p| names::matches(p, &w).is_some()))
            });
            if has_street || (person_table && !names::REGION_PARTS.contains(part)) {
                return Some((address_rule(), part));
            }
        }
    }
    None
}

fn person_name_rule() -> &'static names::Rule {
    names::RULES
        .iter()
        .find(|r| r.class == PersonalClass::PersonName)
        .expect("the vocabulary has a person-name rule")
}

fn address_rule() -> &'static names::Rule {
    names::RULES
        .iter()
        .find(|r| r.class == PersonalClass::PostalAddress)
        .expect("the vocabulary has a postal-address rule")
}

/// Whether values of type `ty` can be of `class` at all (`email_count INT` is
/// not an email; a phone or a postcode may be stored as a number).
fn type_allows(class: PersonalClass, ty: &DataType) -> bool {
    use PersonalClass::*;
    match ty {
        // A text `location` is a place name far more often than coordinates (those
        // are found by their values).
        DataType::Char { .. } | DataType::Varchar { .. } | DataType::Text => class != Location,
        DataType::Other(_) | DataType::Json => true,
        DataType::Binary { .. } => matches!(class, Credential | Location | IpAddress | DeviceId),
        DataType::Bits { .. } => false,
        DataType::Int { bytes, .. } => {
            matches!(
                class,
                Phone | PostalAddress | NationalId | PaymentCard | BankAccount | BirthDate
            ) || (*bytes >= 4 && class == IpAddress)
                || (*bytes == 8 && class == DeviceId)
        }
        DataType::Decimal { .. } | DataType::Float { .. } => matches!(class, Location | PaymentCard | Phone),
        DataType::Date | DataType::Timestamp { .. } => class == BirthDate,
        DataType::Boolean | DataType::Uuid | DataType::Time => false,
    }
}

/// What the sampled values say on their own.
struct ByValues<'a> {
    class: PersonalClass,
    confidence: f64,
    hits: usize,
    what: String,
    example: Option<&'a String>,
}

fn by_values<'a>(ty: &DataType, samples: &'a [String]) -> Option<ByValues<'a>> {
    if samples.is_empty() || matches!(ty, DataType::Date | DataType::Timestamp { .. } | DataType::Boolean) {
        return None;
    }
    // Most values (70%) of one shape; never fewer than three.
    let need = (samples.len() * 7).div_ceil(10).max(3.min(samples.len()));
    // Whole values: most of the sample of one shape.
    type Shape = (PersonalClass, fn(&str) -> bool, &'static str, f64);
    let whole: [Shape; 7] = [
        (PersonalClass::Email, validators::email, "are email addresses", 0.9),
        (PersonalClass::PaymentCard, validators::card, "pass the Luhn check", 0.9),
        (PersonalClass::BankAccount, validators::iban, "are valid IBANs", 0.9),
        (PersonalClass::NationalId, validators::ssn, "are shaped like SSNs", 0.8),
        (PersonalClass::IpAddress, validators::ip, "are IP addresses", 0.85),
        (PersonalClass::Location, validators::coordinates, "are coordinates", 0.8),
        (PersonalClass::DeviceId, validators::mac, "are MAC addresses", 0.8),
    ];
    for (class, check, what, confidence) in whole {
        let what = what.to_string();
        let hits: Vec<&String> = samples.iter().filter(|s| check(s)).collect();
        if hits.len() >= need && samples.len() >= 3 {
            return Some(ByValues {
                class,
                confidence,
                hits: hits.len(),
                what,
                example: hits.first().copied(),
            });
        }
    }
    // Phone numbers by value only when written as phone numbers (a `+`, or 10 digits
    // or more with separators): bare digit runs are ids, amounts and timestamps, and
    // short separated ones postcodes, far more often.
    let phones: Vec<&String> = samples.iter().filter(|s| phone_inside(s.trim(), false)).collect();
    if phones.len() >= need && samples.len() >= 3 && ty.is_text() {
        return Some(ByValues {
            class: PersonalClass::Phone,
            confidence: 0.8,
            hits: phones.len(),
            what: "are phone numbers".into(),
            example: phones.first().copied(),
        });
    }
    // Free text with personal data inside: some values carry an email, a phone or a
    // card number among other words (or with a label: `tel. +4930123456`); a JSON
    // document in one of its members.
    let json = *ty == DataType::Json;
    if ty.is_text() || json {
        // Short values only from three values on (never judged on fewer, as above);
        // a sentence or a document on its own.
        let found: Vec<Inside> = samples
            .iter()
            .filter(|s| samples.len() >= 3 || json || s.split_whitespace().count() >= 3)
            .filter_map(|s| inside(s))
            .collect();
        if !found.is_empty() && found.len() * 20 >= samples.len() {
            let has = |k: Inside| found.contains(&k);
            let kinds: Vec<&str> = [
                (Inside::Email, "an email"),
                (Inside::Phone, "a phone"),
                (Inside::Card, "a card number"),
            ]
            .iter()
            .filter(|(k, _)| has(*k))
            .map(|(_, n)| *n)
            .collect();
            let what = match kinds.as_slice() {
                [one] => format!("hold {one} in their text"),
                [a, b] => format!("hold {a} or {b} in their text"),
                _ => "hold an email, a phone or a card number in their text".to_string(),
            };
            return Some(ByValues {
                class: PersonalClass::FreeText,
                confidence: 0.75,
                hits: found.len(),
                what,
                example: None,
            });
        }
    }
    None
}

/// What a value holds inside its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inside {
    Email,
    Phone,
    Card,
}

/// Labels that say the number after them is a phone number (`tel. 030123456`).
const PHONE_LABELS: &[&str] = &[
    "tel",
    "phone",
    "telephone",
    "mobile",
    "mob",
    "cell",
    "fax",
    "fon",
    "telefon",
    "handy",
    "tlf",
    "tél",
    "téléphone",
    "telefono",
    "teléfono",
    "whatsapp",
];

/// Labels that say the number after them is a card number (`visa: 4111...`).
const CARD_LABELS: &[&str] = &[
    "card",
    "cc",
    "visa",
    "mastercard",
    "amex",
    "kreditkarte",
    "karte",
    "carte",
    "tarjeta",
    "pan",
];

/// Whether a value holds an email, a phone or a card number, whatever its length: in
/// its words, next to a label (`email=a@b.com;tel=+1...`), inside a JSON document.
/// Bare digit runs (ids, amounts, timestamps far more often) count only in text of
/// three words or more, as a phone or card number written as one (`+`, groups), or
/// after a label.
fn inside(value: &str) -> Option<Inside> {
    if let Some(doc) = json_document(value) {
        return json_inside(&doc, "");
    }
    if validators::contains_email(value) {
        return Some(Inside::Email);
    }
    if value.split_whitespace().count() >= 3 {
        if validators::contains_phone(value) {
            return Some(Inside::Phone);
        }
        if validators::contains_card(value) {
            return Some(Inside::Card);
        }
    }
    let lower = value.to_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    ',' | ';' | '<' | '>' | '"' | '\'' | '=' | ':' | '{' | '}' | '[' | ']' | '|'
                )
        })
        .filter(|t| !t.is_empty())
        .collect();
    let mut label: Option<Inside> = None;
    // A value that starts with a word other than a label and then a number is an
    // identifier (`SN 2024-1105-0001`, `Hotel 1000037`), not a name and a phone; a
    // number with its `+` after a word still is one (`Ana +49 30 1234567`).
    let mut identifier = false;
    for (i, t) in tokens.into_iter().enumerate() {
        // A label glued to its number with a dot: `tel.+4930123456`.
        let (word, rest) = match t.find(|c: char| c.is_ascii_digit() || c == '+' || c == '(') {
            Some(i) if i > 0 && t[..i].ends_with('.') => (&t[..i], &t[i..]),
            Some(0) => ("", t),
            _ => (t, ""),
        };
        let word = word.trim_end_matches('.');
        if PHONE_LABELS.contains(&word) {
            label = Some(Inside::Phone);
        } else if CARD_LABELS.contains(&word) {
            label = Some(Inside::Card);
        } else if !word.is_empty() {
            label = None;
            identifier = i == 0 && rest.is_empty();
        }
        let n = rest.trim_end_matches(['.', ')']);
        if n.is_empty() {
            continue;
        }
        let labelled = label == Some(Inside::Phone);
        let after_prefix = identifier && i == 1 && !n.starts_with('+');
        if phone_inside(n, labelled) && (labelled || !after_prefix && !signed_number(n)) {
            return Some(Inside::Phone);
        }
        if validators::card(n) && (n.contains('-') || label == Some(Inside::Card)) {
            return Some(Inside::Card);
        }
        label = None;
    }
    // Written in groups with spaces, the whole value: `+49 30 1234567`, `4111 1111 1111 1111`.
    let v = value.trim();
    if phone_inside(v, false) && !signed_number(v) {
        return Some(Inside::Phone);
    }
    if validators::card(v) && v.contains([' ', '-']) {
        return Some(Inside::Card);
    }
    None
}

/// The elements of an array as PostgreSQL writes it (`{a,"b c",NULL}`), nested arrays
/// flattened; NULLs left out.
fn array_elements(literal: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut quoted, mut in_quotes, mut escaped) = (String::new(), false, false, false);
    let mut push = |cur: &mut String, quoted: bool| {
        let v = std::mem::take(cur);
        let v = if quoted { v } else { v.trim().to_string() };
        if !v.is_empty() && (quoted || !v.eq_ignore_ascii_case("null")) {
            out.push(v);
        }
    };
    for c in literal.chars() {
        match c {
            _ if escaped => {
                cur.push(c);
                escaped = false;
            }
            '\\' if in_quotes => escaped = true,
            '"' => {
                in_quotes = !in_quotes;
                quoted = true;
            }
            _ if in_quotes => cur.push(c),
            '{' | '}' | ',' => {
                push(&mut cur, quoted);
                quoted = false;
            }
            _ => cur.push(c),
        }
    }
    push(&mut cur, quoted);
    out
}

/// A phone number as text carries one: with its `+` and country code, or 10 digits
/// or more written with separators (`030 1234567`, `555-010-9999`) or after a label.
/// Shorter separated forms are postcodes (`12227-000`, `94043-1351`) and SSNs far
/// more often.
fn phone_inside(v: &str, labelled: bool) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    validators::phone(v)
        && (v.starts_with('+') || (digits >= 10 && (labelled || v.chars().any(|c| " -()".contains(c)))))
}

/// `+` and fewer than 10 digits, nothing between them: how a signed number prints
/// (`+1234567`, `+24691340`). Judged alone, among other values, it is no phone; a
/// column mostly of them is judged by the whole-value rule (E.164: `+` and 8 to 15
/// digits), and a label still makes one a phone (`tel +49301234`).
fn signed_number(v: &str) -> bool {
    v.strip_prefix('+')
        .is_some_and(|d| d.len() < 10 && d.chars().all(|c| c.is_ascii_digit()))
}

/// A JSON object or array, parsed (text that only looks like one is not).
fn json_document(value: &str) -> Option<serde_json::Value> {
    let v = value.trim_start();
    if !(v.starts_with('{') || v.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<serde_json::Value>(value)
        .ok()
        .filter(|d| d.is_object() || d.is_array())
}

/// The first personal value among a JSON document's members: each read with its key
/// as its label (`{"phone": 4930123456}` is `phone: 4930123456`).
fn json_inside(doc: &serde_json::Value, key: &str) -> Option<Inside> {
    let labelled = |v: &str| {
        if key.is_empty() {
            inside(v)
        } else {
            inside(&format!("{key}: {v}")).or_else(|| inside(v))
        }
    };
    match doc {
        serde_json::Value::Object(m) => m.iter().find_map(|(k, v)| json_inside(v, k)),
        serde_json::Value::Array(a) => a.iter().find_map(|v| json_inside(v, key)),
        serde_json::Value::String(s) => labelled(s),
        serde_json::Value::Number(n) => labelled(&n.to_string()),
        _ => None,
    }
}

/// Whether any sampled value has the shape the class (and the name matched:
/// a card's security code) promises, as the type stores it (classes without a
/// validator always pass).
fn validated(class: PersonalClass, pattern: &str, ty: &DataType, samples: &[String]) -> bool {
    let check: fn(&str) -> bool = match (class, ty) {
        (PersonalClass::PaymentCard, _) if names::CARD_CODES.contains(&pattern) => validators::card_code,
        (PersonalClass::IpAddress, DataType::Int { .. }) => validators::ipv4_number,
        (PersonalClass::Email, _) => validators::email,
        (PersonalClass::PaymentCard, _) => validators::card,
        (PersonalClass::IpAddress, _) => validators::ip,
        (PersonalClass::BankAccount, _) => validators::account,
        _ => return true,
    };
    samples.iter().any(|s| check(s))
}

/// The transformer a match suggests, refined by the words (`first_name` gets a first
/// name, `zip` a postcode) and the type.
fn transformer_for(rule: &names::Rule, words: &[String], ty: &DataType) -> Suggestion {
    // Looked for first: `fullname` ends with `lname`.
    const FULL: &[&str] = &["full_name", "fullname", "display_name", "complete_name"];
    const FIRST: &[&str] = &[
        "first_name",
        "fname",
        "given_name",
        "forename",
        "middle_name",
        "vorname",
        "prenom",
        "nombre",
        "voornaam",
    ];
    const LAST: &[&str] = &[
        "last_name",
        "lname",
        "surname",
        "family_name",
        "nachname",
        "apellido",
        "achternaam",
        "cognome",
    ];
    const POSTCODE: &[&str] = &["zip", "postcode", "postal_code", "plz", "zip_code", "cap"];
    const CITY: &[&str] = &["city", "town", "ort", "stadt", "ciudad", "ville"];
    let has = |list: &[&str]| list.iter().any(|p| names::matches(p, words).is_some());
    let kind = match rule.class {
        PersonalClass::PersonName if has(FULL) => "full_name",
        PersonalClass::PersonName if has(FIRST) => "first_name",
        PersonalClass::PersonName if has(LAST) => "last_name",
        PersonalClass::PostalAddress if has(POSTCODE) => "zip",
        PersonalClass::PostalAddress if has(CITY) => "city",
        PersonalClass::PostalAddress if has(names::REGION_PARTS) => "state",
        _ => rule.transformer,
    };
    match (kind, ty) {
        (_, DataType::Int { .. } | DataType::Binary { .. }) => Suggestion::new("hash", ""),
        ("date_shift", _) => Suggestion::new("date_shift", "max_days = 365"),
        // Coordinates written as text keep their shape with their digits replaced.
        ("noise", t) if t.is_text() => Suggestion::new("scramble", ""),
        (k, _) => Suggestion::new(k, ""),
    }
}

fn default_transformer(class: PersonalClass) -> &'static str {
    if class == PersonalClass::Location {
        // Found by its values, so written as text.
        return "scramble";
    }
    names::RULES
        .iter()
        .find(|r| r.class == class)
        .map(|r| r.transformer)
        .unwrap_or("scramble")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: &str) -> Column {
        Column {
            name: name.into(),
            engine_type: ty.into(),
            normalized_type: ty.parse().expect("type"),
            nullable: true,
            default: None,
            identity: None,
            generated: None,
        }
    }

    fn class_of(table: &str, columns: &[&str], name: &str, ty: &str, samples: &[&str]) -> Option<PersonalClass> {
        let columns: Vec<String> = columns.iter().map(|s| s.to_string()).collect();
        let samples: Vec<String> = samples.iter().map(|s| s.to_string()).collect();
        let ctx = TableContext {
            table,
            columns: &columns,
        };
        classify(&ctx, &col(name, ty), &samples).map(|f| f.class)
    }

    #[test]
    fn names_in_many_styles_and_languages() {
        use PersonalClass::*;
        let cases: &[(&str, &str, &str, Option<PersonalClass>)] = &[
            ("customer", "e_mail", "varchar(80)", Some(Email)),
            ("customer", "EmailAddress", "varchar(80)", Some(Email)),
            ("customer", "tel", "varchar(20)", Some(Phone)),
            ("customer", "dob", "date", Some(BirthDate)),
            ("kunde", "vorname", "varchar(40)", Some(PersonName)),
            ("kunde", "Nachname", "varchar(40)", Some(PersonName)),
            ("actor", "first_name", "varchar(45)", Some(PersonName)),
            ("staff", "password", "varchar(40)", Some(Credential)),
            ("staff", "username", "varchar(16)", Some(Credential)),
            ("address", "address2", "varchar(50)", Some(PostalAddress)),
            ("address", "postal_code", "varchar(10)", Some(PostalAddress)),
            ("address", "location", "geometry", Some(Location)),
            ("session", "client_ip", "varchar(45)", Some(IpAddress)),
            ("payment", "card_number", "varchar(19)", Some(PaymentCard)),
            ("employee", "ssn", "char(11)", Some(NationalId)),
            ("account", "iban", "varchar(34)", Some(BankAccount)),
            ("ticket", "notes", "text", Some(FreeText)),
            ("employee", "LoginID", "varchar(256)", Some(Credential)),
            ("employee", "NationalIDNumber", "varchar(15)", Some(NationalId)),
            ("orders", "ShipName", "varchar(40)", Some(PersonName)),
            ("employees", "HomePhone", "varchar(24)", Some(Phone)),
            ("address", "district", "varchar(20)", Some(PostalAddress)),
            ("orders", "ShipRegion", "varchar(15)", Some(PostalAddress)),
            ("productreview", "reviewername", "varchar(50)", Some(PersonName)),
            ("customer", "name", "varchar(40)", Some(PersonName)),
            ("orders", "shipto_name", "varchar(40)", Some(PersonName)),
            ("invoice", "BillToName", "varchar(40)", Some(PersonName)),
            ("users", "fullname", "varchar(80)", Some(PersonName)),
            // Compounds split otherwise than the vocabulary writes them.
            ("kunde", "GeburtsDatum", "date", Some(BirthDate)),
            ("kunde", "geburts_datum", "date", Some(BirthDate)),
            ("kunde", "VorName", "varchar(40)", Some(PersonName)),
            ("kunde", "nach_name", "varchar(40)", Some(PersonName)),
            ("kunde", "Reisepassnummer", "varchar(20)", Some(NationalId)),
            ("kunde", "reise_pass", "varchar(20)", Some(NationalId)),
            ("cliente", "codice_fiscale", "char(16)", Some(NationalId)),
            ("device", "mac_address", "varchar(17)", Some(DeviceId)),
            ("device", "device", "macaddr", Some(DeviceId)),
            ("place", "home", "point", Some(Location)),
            ("place", "latitude", "text", Some(Location)),
            ("users", "email_addr", "varchar(80)", Some(Email)),
            ("users", "from_addr", "varchar(80)", Some(Email)),
            ("users", "reply_to_addr", "varchar(80)", Some(Email)),
            ("users", "cvv", "char(3)", Some(PaymentCard)),
            ("users", "ip_address", "int unsigned", Some(IpAddress)),
            ("users", "last_login_ip", "varbinary(16)", Some(IpAddress)),
        ];
        for (table, name, ty, want) in cases {
            assert_eq!(
                class_of(table, &[name, "address"], name, ty, &[]),
                *want,
                "{table}.{name}"
            );
        }
    }

    /// Which name transformer a name column is offered: `fullname` ends with `lname`,
    /// and was offered a last name.
    #[test]
    fn name_columns_are_offered_the_matching_name_transformer() {
        let cases = [
            ("fullname", "full_name"),
            ("full_name", "full_name"),
            ("first_name", "first_name"),
            ("lname", "last_name"),
            ("surname", "last_name"),
            ("shipto_name", "full_name"),
        ];
        for (name, want) in cases {
            let ctx = TableContext {
                table: "users",
                columns: &[],
            };
            let found = classify(&ctx, &col(name, "varchar(80)"), &[]).expect("a person's name");
            assert_eq!(found.transformer.kind, want, "{name}");
        }
    }

    #[test]
    fn harmless_names_that_sound_personal() {
        let cases: &[(&str, &str, &str)] = &[
            ("customer", "email_verified", "boolean"),
            ("customer", "email_count", "int"),
            ("customer", "phone_type", "varchar(10)"),
            ("customer", "address_id", "int"),
            ("product", "name", "varchar(40)"),
            ("city", "city", "varchar(50)"),
            ("hotel", "hotel_name", "varchar(50)"),
            ("notification", "email_template", "text"),
            ("customer", "last_update", "timestamp"),
            ("film", "description", "text"),
            ("country", "country", "varchar(50)"),
            ("person", "EmailPromotion", "int"),
            ("users", "state", "varchar(10)"),
            ("addresstype", "addresstypeid", "int"),
            ("phonenumbertype", "phonenumbertypeid", "int"),
            ("salesorderheader", "creditcardapprovalcode", "varchar(15)"),
            ("customers", "CompanyName", "varchar(40)"),
            ("customer_type", "name", "varchar(40)"),
            ("product", "display_name", "varchar(40)"),
            ("device", "mobile_os", "varchar(17)"),
            ("rack", "location_name", "varchar(40)"),
            ("author", "birthplace", "varchar(40)"),
            ("user", "emailverified", "varchar(5)"),
            ("credit_card", "CardType", "varchar(50)"),
            ("film", "rating", "varchar(10)"),
        ];
        for (table, name, ty) in cases {
            assert_eq!(class_of(table, &[name], name, ty, &[]), None, "{table}.{name}");
        }
    }

    #[test]
    fn values_classify_oddly_named_columns() {
        use PersonalClass::*;
        let emails = ["ada@lovelace.org", "alan@turing.net", "grace@hopper.io", "x"];
        assert_eq!(class_of("t", &[], "c1", "text", &emails), Some(Email));
        let cards = ["4111111111111111", "5500000000000004", "340000000000009"];
        assert_eq!(class_of("t", &[], "blob_a", "varchar(20)", &cards), Some(PaymentCard));
        let ibans = [
            "DE89370400440532013000",
            "GB82WEST12345698765432",
            "FR1420041010050500013M02606",
        ];
        assert_eq!(class_of("t", &[], "ref", "varchar(34)", &ibans), Some(BankAccount));
        let phones = ["+1 555 010 9999", "+49 30 1234567", "+44 20 7946 0958"];
        assert_eq!(class_of("t", &[], "contact", "varchar(20)", &phones), Some(Phone));
        let text = [
            "call me on +49 30 1234567 after five",
            "delivered to the front door",
            "fine",
            "ok",
            "late again, write to bob@example.com",
        ];
        assert_eq!(class_of("t", &[], "remarks_x", "text", &text), Some(FreeText));
        // Amounts, codes and epoch milliseconds are not personal.
        let numbers = ["1700000000000", "1700000000123", "1700000001000"];
        assert_eq!(class_of("t", &[], "ts", "varchar(20)", &numbers), None);
        assert_eq!(
            class_of("t", &[], "sku", "varchar(20)", &["AB-1234", "CD-5678", "EF-9012"]),
            None
        );
    }

    /// Card codes and numeric IPs are kept by their own shapes once sampled; values that
    /// validate strongly as another class decide over the name.
    #[test]
    fn card_codes_numeric_ips_and_strong_values_over_names() {
        use PersonalClass::*;
        let codes: Vec<String> = (1..=20).map(|i| format!("{:03}", i * 7)).collect();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        assert_eq!(class_of("users", &[], "cvv", "char(3)", &codes), Some(PaymentCard));
        assert_eq!(
            class_of("users", &[], "card_cvc", "smallint", &codes),
            Some(PaymentCard)
        );
        let ips: Vec<String> = (1..=20).map(|i| (3_405_803_776u64 + i).to_string()).collect();
        let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
        assert_eq!(
            class_of("users", &[], "ip_address", "int unsigned", &ips),
            Some(IpAddress)
        );
        // Small numbers are no IPv4 addresses: a loose name (`ip`) with them is dropped.
        let small: Vec<&str> = vec!["1", "2", "3", "4", "5", "6"];
        assert_eq!(class_of("users", &[], "ip", "int", &small), None);
        let emails = [
            "a@example.com",
            "b@example.org",
            "c@example.net",
            "d@example.io",
            "e@x.de",
        ];
        assert_eq!(class_of("users", &[], "home_addr", "varchar(80)", &emails), Some(Email));
        assert_eq!(
            class_of("users", &[], "note", "text", &emails),
            Some(Email),
            "free text by name, emails by value"
        );
        let streets = ["1 Main Street", "2 High St", "3 Elm Road", "4 Oak Lane", "5 Pine Ave"];
        assert_eq!(
            class_of("users", &[], "home_addr", "varchar(80)", &streets),
            Some(PostalAddress)
        );
    }

    /// r21h F1: a value holding an email, phone or card number is free text whatever its
    /// word count; short look-alikes (postcodes, invoice numbers, timestamps, amounts)
    /// are not.
    #[test]
    fn short_values_holding_personal_data_are_free_text() {
        use PersonalClass::*;
        let three = |v: &str| [v.to_string(), v.to_string(), v.to_string()];
        let yes = [
            "email: user1@example.org",
            "tel. +4930123456",
            "tel.+4930123456",
            "tel:4930123456",
            "<a@b.com>",
            "x,a@b.com,y",
            "email=a@b.com;tel=+12125550100",
            "visa: 4111111111111111",
            "{\"contact\": \"u@x.org\"}",
            "{\"phone\": 4930123456}",
            "[{\"note\": \"call +49 30 1234567\"}]",
            "{a@b.com,c@d.org}",
            "Ana +4930123456",
        ];
        for v in yes {
            let samples = three(v);
            let samples: Vec<&str> = samples.iter().map(String::as_str).collect();
            assert_eq!(class_of("t", &[], "c", "text", &samples), Some(FreeText), "{v}");
        }
        let no = [
            "12227-000",
            "94043-1351",
            "INV-1700000001",
            "2024-01-31 10:00:00",
            "12345678.90 EUR",
            "v1.2.3",
            "{\"qty\": 1234567890}",
            "{not json a@b}",
            "order 1700000000123",
            // r22m F3: an identifier after its prefix, a signed number.
            "SN 2024-000013",
            "+1234567",
        ];
        for v in no {
            let samples = three(v);
            let samples: Vec<&str> = samples.iter().map(String::as_str).collect();
            assert_eq!(class_of("t", &[], "c", "text", &samples), None, "{v}");
        }
        // Two short values are too few to judge (a sentence on its own is not).
        assert_eq!(class_of("t", &[], "c", "text", &["a@b.com;", "c@d.org;"]), None);
        assert_eq!(
            class_of("t", &[], "c", "text", &["write to a@b.com please"]),
            Some(FreeText)
        );
    }

    /// r21h F2: an array column is judged by its elements and suggested what an array
    /// takes.
    #[test]
    fn array_columns_are_judged_by_their_elements() {
        assert_eq!(
            array_elements("{a@b.com,\"c d@e.org\",NULL,\"NULL\",{x}}"),
            ["a@b.com", "c d@e.org", "NULL", "x"]
        );
        let ctx = TableContext {
            table: "t",
            columns: &[],
        };
        let samples: Vec<String> = ["{a@example.org}", "{b@example.org,c@example.org}", "{d@example.org}"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut c = col("emails", "text[]");
        let f = classify(&ctx, &c, &samples).expect("emails");
        assert_eq!(
            (f.class, f.transformer.to_string()),
            (PersonalClass::Email, "\"null\"".to_string())
        );
        c.nullable = false;
        let f = classify(&ctx, &c, &samples).expect("emails");
        assert_eq!(f.transformer.to_string(), "{ kind = \"constant\", value = \"{}\" }");
    }

    #[test]
    fn values_that_contradict_the_name_lower_the_confidence() {
        let columns = vec!["email".to_string()];
        let ctx = TableContext {
            table: "customer",
            columns: &columns,
        };
        let samples: Vec<String> = (0..6).map(|i| format!("template {i}")).collect();
        let f = classify(&ctx, &col("email", "text"), &samples).expect("still reported");
        assert!(f.confidence < 0.85, "{f:?}");
        let good: Vec<String> = (0..6).map(|i| format!("u{i}@example.com")).collect();
        let f = classify(&ctx, &col("email", "text"), &good).expect("email");
        assert_eq!(f.confidence, 0.95);
        assert!(f.evidence.iter().any(|e| e.contains("u***@e***.com")), "{f:?}");
        assert!(!f.evidence.iter().any(|e| e.contains("u0@example.com")), "{f:?}");
    }
}
