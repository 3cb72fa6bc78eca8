//! Embedded word lists for realistic values. Fixed in the source, so outputs do not
//! change with a dependency's release; changing a list changes outputs (note it in the
//! changelog).

#[rustfmt::skip]
pub(crate) const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Christopher", "Lisa",
    "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven",
    "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda",
    "Brian", "Dorothy", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie", "Edward", "Rebecca",
    "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Kathleen", "Gary", "Amy", "Nicholas",
    "Angela", "Eric", "Shirley", "Jonathan", "Anna", "Stephen", "Brenda", "Larry", "Pamela", "Justin", "Emma",
    "Scott", "Nicole", "Brandon", "Helen", "Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine",
    "Alexander", "Debra", "Frank", "Rachel", "Patrick", "Carolyn", "Raymond", "Janet", "Jack", "Catherine",
    "Dennis", "Maria", "Jerry", "Heather", "Tyler", "Diane", "Aaron", "Ruth", "Jose", "Julie", "Adam", "Olivia",
    "Nathan", "Joyce", "Henry", "Virginia", "Noah", "Victoria", "Lucas", "Chloe", "Mateo", "Sofia", "Leon", "Mia",
    "Hugo", "Lea", "Luca", "Ines", "Omar", "Yara", "Kenji", "Aiko", "Ravi", "Priya", "Wei", "Mei", "Ivan", "Olga",
];

#[rustfmt::skip]
pub(crate) const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
    "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
    "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers",
    "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox",
    "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz",
    "Hughes", "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
    "Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Dubois", "Laurent",
    "Moreau", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Tanaka", "Suzuki", "Sato", "Wang", "Zhang",
    "Chen", "Singh", "Kumar", "Ivanov", "Novak", "Kowalski", "Jensen", "Hansen", "Larsen", "Silva", "Santos",
];

#[rustfmt::skip]
pub(crate) const CITIES: &[&str] = &[
    "Springfield", "Riverton", "Fairview", "Greenville", "Franklin", "Clinton", "Madison", "Georgetown", "Salem",
    "Ashland", "Arlington", "Bristol", "Burlington", "Centerville", "Dayton", "Dover", "Eastwood", "Fulton",
    "Hudson", "Jackson", "Kingston", "Lakewood", "Lexington", "Milford", "Newport", "Oakland", "Oxford", "Plymouth",
    "Portland", "Richmond", "Riverside", "Rochester", "Shelby", "Stratford", "Trenton", "Union", "Vernon",
    "Warren", "Washington", "Westfield", "Winchester", "Woodstock", "Auburn", "Belmont", "Cambridge", "Chester",
    "Concord", "Florence", "Glendale", "Hamilton", "Hanover", "Lancaster", "Marion", "Monroe", "Norwood",
    "Princeton", "Quincy", "Sheffield", "Troy", "Wakefield",
];

#[rustfmt::skip]
pub(crate) const STREETS: &[&str] = &[
    "Maple", "Oak", "Pine", "Cedar", "Elm", "Willow", "Birch", "Walnut", "Chestnut", "Spruce", "Hickory", "Ash",
    "Poplar", "Sycamore", "Magnolia", "Park", "Lake", "Hill", "River", "Forest", "Meadow", "Sunset", "Highland",
    "Church", "Main", "Mill", "Spring", "Valley", "Ridge", "Bridge", "Market", "Union", "Center", "Washington",
    "Lincoln", "Jefferson", "Franklin", "Madison", "Adams", "Jackson", "Grant", "Harrison", "Prospect", "Pleasant",
    "Orchard", "Garden", "Brook", "Fairway", "Harbor", "Summit",
];

#[rustfmt::skip]
pub(crate) const STREET_SUFFIXES: &[&str] =
    &["Street", "Avenue", "Road", "Lane", "Drive", "Court", "Place", "Boulevard", "Way", "Terrace"];

/// US states: name and postal abbreviation.
#[rustfmt::skip]
pub(crate) const STATES: &[(&str, &str)] = &[
    ("Alabama", "AL"), ("Alaska", "AK"), ("Arizona", "AZ"), ("Arkansas", "AR"), ("California", "CA"),
    ("Colorado", "CO"), ("Connecticut", "CT"), ("Delaware", "DE"), ("Florida", "FL"), ("Georgia", "GA"),
    ("Hawaii", "HI"), ("Idaho", "ID"), ("Illinois", "IL"), ("Indiana", "IN"), ("Iowa", "IA"), ("Kansas", "KS"),
    ("Kentucky", "KY"), ("Louisiana", "LA"), ("Maine", "ME"), ("Maryland", "MD"), ("Massachusetts", "MA"),
    ("Michigan", "MI"), ("Minnesota", "MN"), ("Mississippi", "MS"), ("Missouri", "MO"), ("Montana", "MT"),
    ("Nebraska", "NE"), ("Nevada", "NV"), ("New Hampshire", "NH"), ("New Jersey", "NJ"), ("New Mexico", "NM"),
    ("New York", "NY"), ("North Carolina", "NC"), ("North Dakota", "ND"), ("Ohio", "OH"), ("Oklahoma", "OK"),
    ("Oregon", "OR"), ("Pennsylvania", "PA"), ("Rhode Island", "RI"), ("South Carolina", "SC"),
    ("South Dakota", "SD"), ("Tennessee", "TN"), ("Texas", "TX"), ("Utah", "UT"), ("Vermont", "VT"),
    ("Virginia", "VA"), ("Washington", "WA"), ("West Virginia", "WV"), ("Wisconsin", "WI"), ("Wyoming", "WY"),
];

/// Countries: name and ISO 3166-1 alpha-2 code.
#[rustfmt::skip]
pub(crate) const COUNTRIES: &[(&str, &str)] = &[
    ("Argentina", "AR"), ("Australia", "AU"), ("Austria", "AT"), ("Belgium", "BE"), ("Brazil", "BR"),
    ("Canada", "CA"), ("Chile", "CL"), ("China", "CN"), ("Colombia", "CO"), ("Czechia", "CZ"), ("Denmark", "DK"),
    ("Egypt", "EG"), ("Finland", "FI"), ("France", "FR"), ("Germany", "DE"), ("Greece", "GR"), ("India", "IN"),
    ("Indonesia", "ID"), ("Ireland", "IE"), ("Israel", "IL"), ("Italy", "IT"), ("Japan", "JP"), ("Kenya", "KE"),
    ("Mexico", "MX"), ("Morocco", "MA"), ("Netherlands", "NL"), ("New Zealand", "NZ"), ("Nigeria", "NG"),
    ("Norway", "NO"), ("Peru", "PE"), ("Poland", "PL"), ("Portugal", "PT"), ("South Africa", "ZA"),
    ("South Korea", "KR"), ("Spain", "ES"), ("Sweden", "SE"), ("Switzerland", "CH"), ("Turkey", "TR"),
    ("United Kingdom", "GB"), ("United States", "US"),
];

#[rustfmt::skip]
pub(crate) const COMPANY_WORDS: &[&str] = &[
    "Acme", "Apex", "Atlas", "Beacon", "Blue", "Bright", "Cascade", "Cedar", "Summit", "Crest", "Delta", "Eagle",
    "Evergreen", "Falcon", "Frontier", "Golden", "Granite", "Harbor", "Horizon", "Iron", "Keystone", "Liberty",
    "Lunar", "Maple", "Meridian", "Nova", "Oak", "Orbit", "Pacific", "Pioneer", "Pinnacle", "Prairie", "Quantum",
    "Redwood", "River", "Silver", "Sterling", "Stone", "Sun", "Titan", "Union", "Vertex", "Vista", "Willow",
];

#[rustfmt::skip]
pub(crate) const COMPANY_NOUNS: &[&str] = &[
    "Systems", "Logistics", "Foods", "Analytics", "Labs", "Works", "Partners", "Industries", "Holdings",
    "Solutions", "Networks", "Media", "Energy", "Health", "Capital", "Supply", "Trading", "Design", "Motors",
    "Software",
];

#[rustfmt::skip]
pub(crate) const COMPANY_SUFFIXES: &[&str] = &["Inc.", "LLC", "Ltd.", "Co.", "Group", "Corp."];

/// Domains reserved for examples (RFC 2606), so a generated address never reaches anyone.
#[rustfmt::skip]
pub(crate) const EMAIL_DOMAINS: &[&str] =
    &["example.com", "example.net", "example.org", "mail.example", "inbox.example", "post.example"];

#[rustfmt::skip]
pub(crate) const LOREM: &[&str] = &[
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor",
    "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "enim", "ad", "minim", "veniam", "quis",
    "nostrud", "exercitation", "ullamco", "laboris", "nisi", "aliquip", "ex", "ea", "commodo", "consequat", "duis",
    "aute", "irure", "in", "reprehenderit", "voluptate", "velit", "esse", "cillum", "eu", "fugiat", "nulla",
    "pariatur", "excepteur", "sint", "occaecat", "cupidatat", "non", "proident", "sunt", "culpa", "qui", "officia",
    "deserunt", "mollit", "anim", "id", "est", "laborum",
];
