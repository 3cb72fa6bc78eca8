//! The column-name vocabulary of personal data: words and compounds in the naming
//! styles real schemas use (`e_mail`, `EmailAddress`, `tel`, `dob`, `vorname`, ...),
//! per class, and the words that make a personal-sounding name harmless
//! (`email_verified`, `phone_type`, `address_id`).

use super::PersonalClass;

/// A column name split into lowercase words: `EmailAddress` -> email, address;
/// `billing_zip2` -> billing, zip, 2; `IPAddress` -> ip, address.
pub fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if let (false, Some(&prev)) = (cur.is_empty(), i.checked_sub(1).and_then(|j| chars.get(j))) {
            let next = chars.get(i + 1).copied();
            let boundary = (prev.is_lowercase() && c.is_uppercase())
                || (prev.is_alphabetic() != c.is_alphabetic())
                || (prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase));
            if boundary {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// One class's vocabulary: patterns of words (`first_name` is the words first, name
/// in a row, or the one word `firstname`), a confidence for a match by name alone,
/// and the transformer to suggest.
pub struct Rule {
    pub class: PersonalClass,
    pub patterns: &'static [&'static str],
    pub confidence: f64,
    pub transformer: &'static str,
}

/// In priority order: the first rule whose pattern matches decides (so
/// `email_address` is an email, not a postal address).
pub const RULES: &[Rule] = &[
    Rule {
        class: PersonalClass::Credential,
        patterns: &[
            "password",
            "passwd",
            "pwd",
            "pass_hash",
            "passhash",
            "passwort",
            "contrasena",
            "contraseña",
            "mot_de_passe",
            "motdepasse",
            "senha",
            "secret",
            "api_key",
            "apikey",
            "token",
            "private_key",
            "privatekey",
            "otp_secret",
            "pin_code",
            "credentials",
            "credential",
            "session_key",
        ],
        confidence: 0.85,
        transformer: "hash",
    },
    Rule {
        class: PersonalClass::Credential,
        patterns: &[
            "username",
            "user_name",
            "login",
            "login_name",
            "screen_name",
            "screenname",
            "benutzername",
            "usuario",
        ],
        confidence: 0.75,
        transformer: "username",
    },
    Rule {
        class: PersonalClass::Email,
        patterns: &[
            "email",
            "e_mail",
            "email_address",
            "mail",
            "mail_address",
            "email_addr",
            "mail_addr",
            "from_addr",
            "to_addr",
            "reply_to",
            "reply_to_addr",
            "cc_addr",
            "bcc_addr",
            "correo",
            "courriel",
            "epost",
            "e_post",
        ],
        confidence: 0.85,
        transformer: "email",
    },
    Rule {
        class: PersonalClass::PaymentCard,
        patterns: &[
            "card_number",
            "cardnumber",
            "card_no",
            "card_num",
            "cc_number",
            "ccnumber",
            "cc_num",
            "credit_card",
            "creditcard",
            "pan",
            "kreditkarte",
            "kartennummer",
        ],
        confidence: 0.85,
        transformer: "credit_card",
    },
    // A card's security code: 3 or 4 digits, never a Luhn number (see [`CARD_CODES`]).
    Rule {
        class: PersonalClass::PaymentCard,
        patterns: CARD_CODES,
        confidence: 0.85,
        transformer: "scramble",
    },
    Rule {
        class: PersonalClass::BankAccount,
        patterns: &[
            "iban",
            "account_number",
            "accountnumber",
            "account_no",
            "acct_no",
            "acct_number",
            "bank_account",
            "bankaccount",
            "routing_number",
            "sort_code",
            "kontonummer",
            "rekeningnummer",
            "bic",
            "swift",
        ],
        confidence: 0.8,
        transformer: "scramble",
    },
    Rule {
        class: PersonalClass::NationalId,
        patterns: &[
            "ssn",
            "social_security",
            "socialsecurity",
            "national_id",
            "nationalid",
            "national_insurance",
            "nino",
            "passport",
            "passport_number",
            "tax_id",
            "taxid",
            "tin",
            "bsn",
            "personnummer",
            "dni",
            "nif",
            "cpf",
            "aadhaar",
            "driver_license",
            "drivers_license",
            "driving_licence",
            "license_number",
            "licence_number",
            "id_number",
            "idnumber",
            "identity_number",
            "steuer_id",
            "steuernummer",
            "sozialversicherungsnummer",
            "personalausweis",
            "ausweisnummer",
            "reisepass",
            "passnummer",
            "codice_fiscale",
            "codicefiscale",
            "numero_passaporto",
            "passaporto",
            "pasaporte",
            "passeport",
        ],
        confidence: 0.85,
        transformer: "scramble",
    },
    Rule {
        class: PersonalClass::BirthDate,
        patterns: &[
            "dob",
            "birth_date",
            "birthdate",
            "date_of_birth",
            "dateofbirth",
            "birthday",
            "born",
            "birth",
            "bday",
            "geburtsdatum",
            "geburtstag",
            "fecha_nacimiento",
            "nacimiento",
            "date_naissance",
            "naissance",
            "data_nascita",
            "geboortedatum",
        ],
        confidence: 0.85,
        transformer: "date_shift",
    },
    Rule {
        class: PersonalClass::Phone,
        patterns: &[
            "phone",
            "telephone",
            "tel",
            "mobile",
            "cell",
            "cellphone",
            "fax",
            "msisdn",
            "telefon",
            "telefono",
            "teléfono",
            "telefone",
            "telefoon",
            "handy",
            "contact_number",
            "mobilephone",
            "phonenumber",
        ],
        confidence: 0.85,
        transformer: "phone",
    },
    Rule {
        class: PersonalClass::IpAddress,
        patterns: &[
            "ip",
            "ip_address",
            "ipaddress",
            "ipaddr",
            "ip_addr",
            "remote_addr",
            "ipv4",
            "ipv6",
        ],
        confidence: 0.8,
        transformer: "ip",
    },
    Rule {
        class: PersonalClass::DeviceId,
        patterns: &[
            "mac_address",
            "macaddress",
            "mac_addr",
            "macaddr",
            "imei",
            "udid",
            "idfa",
            "advertising_id",
        ],
        confidence: 0.8,
        transformer: "scramble",
    },
    Rule {
        class: PersonalClass::Location,
        patterns: &[
            "latitude",
            "longitude",
            "lat",
            "lng",
            "lon",
            "geo",
            "geolocation",
            "geo_location",
            "coordinates",
            "coords",
            "gps",
            "location",
            "geom",
            "geog",
        ],
        confidence: 0.7,
        transformer: "noise",
    },
    Rule {
        class: PersonalClass::PersonName,
        patterns: &[
            "first_name",
            "firstname",
            "fname",
            "given_name",
            "givenname",
            "forename",
            "middle_name",
            "middlename",
            "last_name",
            "lastname",
            "lname",
            "surname",
            "family_name",
            "familyname",
            "maiden_name",
            "full_name",
            "fullname",
            "contact_name",
            "contactname",
            "nickname",
            "vorname",
            "nachname",
            "nombre",
            "apellido",
            "apellidos",
            "prenom",
            "prénom",
            "cognome",
            "voornaam",
            "achternaam",
            "imie",
            "nazwisko",
            "fornavn",
            "etternavn",
            "efternamn",
            "förnamn",
            "holder_name",
            "cardholder",
            "card_holder",
            "customer_name",
            "reviewer_name",
            "buyer_name",
            "seller_name",
            "passenger_name",
            "beneficiary_name",
            "account_holder",
            "employee_name",
            "person_name",
            "author_name",
            "owner_name",
            "patient_name",
            "member_name",
            "guest_name",
            "recipient_name",
            "sender_name",
            "ship_name",
            "shipto_name",
            "ship_to_name",
            "shipping_name",
            "billto_name",
            "bill_to_name",
            "billing_name",
            "delivery_name",
            "consignee",
            "addressee",
        ],
        confidence: 0.85,
        transformer: "full_name",
    },
    Rule {
        class: PersonalClass::PostalAddress,
        patterns: &[
            "address",
            "addr",
            "street",
            "street_address",
            "address_line",
            "addressline",
            "house_number",
            "housenumber",
            "strasse",
            "straße",
            "rue",
            "calle",
            "direccion",
            "dirección",
            "adresse",
            "indirizzo",
            "endereco",
            "endereço",
            "adres",
        ],
        confidence: 0.8,
        transformer: "street_address",
    },
    Rule {
        class: PersonalClass::FreeText,
        patterns: &[
            "note",
            "notes",
            "comment",
            "comments",
            "remark",
            "remarks",
            "bio",
            "biography",
            "about_me",
            "memo",
            "free_text",
            "freetext",
            "feedback",
            "complaint",
            "message",
            "notiz",
            "bemerkung",
            "kommentar",
        ],
        confidence: 0.6,
        transformer: "lorem",
    },
];

/// The names of a payment card's security code, whose values are 3 or 4 digits.
pub const CARD_CODES: &[&str] = &[
    "cvv",
    "cvv2",
    "cvc",
    "cvc2",
    "card_cvv",
    "card_cvc",
    "card_code",
    "security_code",
    "card_security_code",
    "card_verification",
];

/// Parts of an address that identify a person only together with a street or a
/// person: a `city` table's name column is not personal, a customer's city is.
pub const ADDRESS_PARTS: &[&str] = &[
    "region",
    "district",
    "state",
    "province",
    "county",
    "suburb",
    "neighborhood",
    "neighbourhood",
    "city",
    "town",
    "postcode",
    "postal_code",
    "postalcode",
    "zip",
    "zipcode",
    "zip_code",
    "plz",
    "ort",
    "stadt",
    "ciudad",
    "ville",
    "cap",
    "codigo_postal",
    "code_postal",
];

/// The parts of [`ADDRESS_PARTS`] that name a region rather than a place.
pub const REGION_PARTS: &[&str] = &["district", "state", "province", "county", "region"];

/// Words of table names that hold people: a bare `name` there is a person's name.
pub const PERSON_TABLES: &[&str] = &[
    "customer",
    "client",
    "user",
    "person",
    "people",
    "employee",
    "emp",
    "staff",
    "member",
    "patient",
    "contact",
    "author",
    "actor",
    "student",
    "teacher",
    "owner",
    "guest",
    "passenger",
    "driver",
    "applicant",
    "candidate",
    "subscriber",
    "buyer",
    "seller",
    "tenant",
    "cardholder",
    "kunde",
    "kunden",
    "mitarbeiter",
    "cliente",
    "usuario",
    "persona",
    "personne",
    "utilisateur",
    "doctor",
    "nurse",
    "volunteer",
    "donor",
    "recipient",
];

/// Words that make a matching name harmless: `email_verified`, `phone_type`,
/// `address_id` (a key to the address table), `ip_count`, `token_expires_at`.
pub const HARMLESS: &[&str] = &[
    "id",
    "ids",
    "count",
    "counts",
    "verified",
    "confirmed",
    "sent",
    "type",
    "types",
    "status",
    "flag",
    "enabled",
    "opt",
    "optin",
    "opted",
    "format",
    "template",
    "length",
    "len",
    "at",
    "on",
    "kind",
    "is",
    "has",
    "allowed",
    "required",
    "policy",
    "expires",
    "expiry",
    "expiration",
    "changed",
    "updated",
    "created",
    "reset",
    "version",
    "provider",
    "domain",
    "index",
    "idx",
    "num_attempts",
    "attempts",
    "hint",
    "valid",
    "bounced",
    "preference",
    "preferences",
    "visibility",
    "public",
    "label",
    "mac",
    "os",
    "place",
    "title",
    "code",
    "prefix",
    "country",
    "zone",
    "timezone",
];

/// Whether `pattern` (`first_name`) matches `words`: its words in a row, one word
/// equal to its words joined (`firstname`), several words that join to its words joined
/// (`geburts_datum`, `VorName` for `geburtsdatum`, `vorname`), or, for patterns of five letters or
/// more, one word starting or ending with them (`passwordhash`, `customeremail`:
/// lowercase compounds, as PostgreSQL folds unquoted names). Returns the words
/// matched and what is left of a partly matched word.
pub fn matches(pattern: &str, words: &[String]) -> Option<(std::ops::Range<usize>, String)> {
    let parts: Vec<&str> = pattern.split('_').collect();
    let joined: String = parts.concat();
    if let Some(i) = words.iter().position(|w| *w == joined) {
        return Some((i..i + 1, String::new()));
    }
    if let Some(i) = (0..words.len().saturating_sub(parts.len() - 1))
        .find(|&i| parts.iter().enumerate().all(|(j, p)| words[i + j] == *p))
    {
        return Some((i..i + parts.len(), String::new()));
    }
    // A compound split otherwise than the pattern: `GeburtsDatum`, `vor_name`,
    // `reise_pass` are the words of `geburtsdatum`, `vorname`, `reisepass` joined
    // (five letters or more, so short patterns do not meet chance joins).
    if joined.chars().count() >= 5 {
        for i in 0..words.len() {
            let mut run = String::new();
            for (j, w) in words.iter().enumerate().skip(i) {
                run.push_str(w);
                if run.len() > joined.len() || !joined.starts_with(run.as_str()) {
                    break;
                }
                if run == joined && j > i {
                    return Some((i..j + 1, String::new()));
                }
            }
        }
    }
    if joined.chars().count() >= 5 {
        for (i, w) in words.iter().enumerate() {
            if let Some(rest) = w
                .strip_prefix(joined.as_str())
                .or_else(|| w.strip_suffix(joined.as_str()))
            {
                return Some((i..i + 1, rest.to_string()));
            }
        }
    }
    None
}

/// Singular of a table-name word (`customers` -> `customer`, `people` stays).
pub fn singular(word: &str) -> &str {
    if word.ends_with("ss") {
        return word;
    }
    word.strip_suffix('s').filter(|w| !w.is_empty()).unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_every_naming_style() {
        assert_eq!(words("EmailAddress"), ["email", "address"]);
        assert_eq!(words("e_mail"), ["e", "mail"]);
        assert_eq!(words("billing_zip2"), ["billing", "zip", "2"]);
        assert_eq!(words("IPAddress"), ["ip", "address"]);
        assert_eq!(words("address-line-1"), ["address", "line", "1"]);
        assert_eq!(words("FIRST_NAME"), ["first", "name"]);
    }

    #[test]
    fn patterns_match_words_in_a_row_or_joined() {
        let range = |p: &str, name: &str| matches(p, &words(name));
        assert_eq!(range("first_name", "CustFirstName"), Some((1..3, String::new())));
        assert_eq!(range("first_name", "firstname"), Some((0..1, String::new())));
        assert_eq!(range("tel", "hotel_name"), None);
        assert_eq!(range("e_mail", "e_mail"), Some((0..2, String::new())));
        assert_eq!(range("password", "passwordhash"), Some((0..1, "hash".to_string())));
        assert_eq!(range("email", "emailverified"), Some((0..1, "verified".to_string())));
        assert_eq!(range("zip", "lastloginzip"), None);
        assert_eq!(range("geburtsdatum", "GeburtsDatum"), Some((0..2, String::new())));
        assert_eq!(range("vorname", "kunde_vor_name"), Some((1..3, String::new())));
        // Short patterns never match joined words.
        assert_eq!(range("pan", "p_an"), None);
    }
}
