//! Guards against false semantic hits: two prompts whose embeddings are close can still
//! ask opposite things. Every semantic cache in the field fails the same way — "enable X"
//! and "disable X" differ by one token, so a bag-of-words or sentence embedding puts them
//! side by side — so a semantic match is served only when none of these differ:
//!
//! - **negation**: how many negating words (`not`, `no`, `never`, `without`, `-n't`...)
//!   each prompt has;
//! - **antonyms**: a word only one prompt has whose opposite only the other has, from a
//!   table of common opposites, or the same stem under opposing prefixes (`enable` /
//!   `disable`, `install` / `uninstall`, `increase` / `decrease`, `upload` / `download`);
//! - **quantities**: the numbers each prompt mentions, in order (digits or number words),
//!   and the units (`km`, `miles`, `cups`, `GB`...);
//! - **named entities**: words written capitalised inside a sentence, or in mixed case
//!   (`Paris`, `GitHub`, `iOS`), and well-known names in any case (`paris`, `python`), must
//!   appear in the other prompt too;
//! - **direction**: words on either side of `to`, `from`, `into`, `than`, `vs` that trade
//!   sides ("convert a string to a list" / "convert a list to a string").
//!
//! They look only at what differs between the two prompts, so casing, spacing and
//! rewording around the same entities, numbers and polarity still match.

use std::collections::HashSet;

/// Which guard refused a match (the `guard` label of `sluice_cache_guard_rejections_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    Negation,
    Antonym,
    Number,
    Entity,
    Order,
}

impl Guard {
    pub fn name(self) -> &'static str {
        match self {
            Guard::Negation => "negation",
            Guard::Antonym => "antonym",
            Guard::Number => "number",
            Guard::Entity => "entity",
            Guard::Order => "order",
        }
    }
}

/// What the guards compare, computed once per prompt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    negations: usize,
    numbers: Vec<String>,
    /// Lowercased, apostrophes removed.
    words: HashSet<String>,
    /// Lowercased, in order of first appearance.
    entities: Vec<String>,
    units: Vec<String>,
    /// Per directional word (first occurrence): the words before it and after it.
    sides: Vec<(String, HashSet<String>, HashSet<String>)>,
}

/// Names written in lowercase as often as not: countries, major cities, languages,
/// programming languages and tools, large companies and products. A prompt that mentions
/// one asks about it, whatever its casing ("weather in paris" / "weather in london").
/// Words that are as often common nouns or verbs (go, rust, swift, nice, turkey, china,
/// apple, java, ruby, reading) are left out: capitalisation still marks those.
const NAMES: &[&str] = &[
    "afghanistan",
    "africa",
    "airbnb",
    "albania",
    "algeria",
    "amazon",
    "amsterdam",
    "andorra",
    "android",
    "angola",
    "angular",
    "ansible",
    "antarctica",
    "anthropic",
    "arabic",
    "arctic",
    "argentina",
    "armenia",
    "asia",
    "athens",
    "atlanta",
    "auckland",
    "austin",
    "australia",
    "austria",
    "azerbaijan",
    "baghdad",
    "bahamas",
    "bahrain",
    "bangalore",
    "bangkok",
    "bangladesh",
    "barbados",
    "barcelona",
    "bash",
    "beijing",
    "beirut",
    "belarus",
    "belgium",
    "belize",
    "bengali",
    "benin",
    "berlin",
    "bhutan",
    "bmw",
    "bogota",
    "bolivia",
    "bosnia",
    "boston",
    "botswana",
    "brazil",
    "brisbane",
    "britain",
    "brunei",
    "brussels",
    "bucharest",
    "budapest",
    "bulgaria",
    "burundi",
    "cairo",
    "calgary",
    "cambodia",
    "cameroon",
    "canada",
    "cantonese",
    "chennai",
    "chicago",
    "chile",
    "chinese",
    "chrome",
    "clojure",
    "cobol",
    "colombia",
    "congo",
    "copenhagen",
    "cpp",
    "croatia",
    "csharp",
    "cuba",
    "cyprus",
    "czech",
    "czechia",
    "dallas",
    "danish",
    "dart",
    "debian",
    "delhi",
    "denmark",
    "deno",
    "denver",
    "detroit",
    "django",
    "djibouti",
    "docker",
    "dominica",
    "dubai",
    "dublin",
    "dutch",
    "ecuador",
    "edinburgh",
    "egypt",
    "elixir",
    "england",
    "english",
    "eritrea",
    "erlang",
    "estonia",
    "eswatini",
    "ethiopia",
    "europe",
    "excel",
    "facebook",
    "farsi",
    "fedora",
    "fiji",
    "finland",
    "finnish",
    "firefox",
    "flask",
    "florence",
    "fortran",
    "france",
    "frankfurt",
    "french",
    "fsharp",
    "gabon",
    "gambia",
    "geneva",
    "german",
    "germany",
    "ghana",
    "github",
    "gitlab",
    "glasgow",
    "golang",
    "google",
    "greece",
    "greek",
    "grenada",
    "guatemala",
    "guinea",
    "guyana",
    "haiti",
    "hamburg",
    "hanoi",
    "haskell",
    "havana",
    "hebrew",
    "helsinki",
    "hindi",
    "honda",
    "honduras",
    "hongkong",
    "houston",
    "hungarian",
    "hungary",
    "ibm",
    "iceland",
    "india",
    "indonesia",
    "indonesian",
    "instagram",
    "intel",
    "ios",
    "iran",
    "iraq",
    "ireland",
    "israel",
    "istanbul",
    "italian",
    "italy",
    "jakarta",
    "jamaica",
    "japan",
    "japanese",
    "javascript",
    "jerusalem",
    "johannesburg",
    "julia",
    "kabul",
    "kafka",
    "karachi",
    "kazakhstan",
    "kenya",
    "kiev",
    "kiribati",
    "kolkata",
    "korea",
    "korean",
    "kosovo",
    "kotlin",
    "krakow",
    "kubernetes",
    "kuwait",
    "kyiv",
    "kyoto",
    "kyrgyzstan",
    "lagos",
    "laos",
    "laravel",
    "latin",
    "latvia",
    "lebanon",
    "lesotho",
    "liberia",
    "libya",
    "liechtenstein",
    "lima",
    "linkedin",
    "linux",
    "lisbon",
    "lithuania",
    "london",
    "lua",
    "luxembourg",
    "lyon",
    "macos",
    "madagascar",
    "madrid",
    "malawi",
    "malaysia",
    "maldives",
    "mali",
    "malta",
    "manchester",
    "mandarin",
    "manila",
    "marseille",
    "mastercard",
    "matlab",
    "mauritania",
    "mauritius",
    "melbourne",
    "meta",
    "mexico",
    "miami",
    "micronesia",
    "microsoft",
    "milan",
    "moldova",
    "monaco",
    "mongodb",
    "mongolia",
    "montenegro",
    "montreal",
    "morocco",
    "moscow",
    "mozambique",
    "mumbai",
    "munich",
    "myanmar",
    "mysql",
    "nairobi",
    "namibia",
    "naples",
    "nauru",
    "nepal",
    "netflix",
    "netherlands",
    "nicaragua",
    "niger",
    "nigeria",
    "nintendo",
    "nodejs",
    "norway",
    "norwegian",
    "numpy",
    "nvidia",
    "ocaml",
    "oman",
    "openai",
    "oracle",
    "osaka",
    "oslo",
    "ottawa",
    "pakistan",
    "palau",
    "palestine",
    "panama",
    "pandas",
    "paraguay",
    "paris",
    "paypal",
    "perl",
    "persian",
    "perth",
    "peru",
    "philadelphia",
    "philippines",
    "photoshop",
    "php",
    "poland",
    "polish",
    "porto",
    "portugal",
    "portuguese",
    "postgres",
    "postgresql",
    "powershell",
    "prague",
    "python",
    "pytorch",
    "qatar",
    "quebec",
    "rails",
    "react",
    "redis",
    "reykjavik",
    "riga",
    "romania",
    "romanian",
    "rome",
    "russia",
    "russian",
    "rwanda",
    "safari",
    "samoa",
    "samsung",
    "santiago",
    "scala",
    "scotland",
    "seattle",
    "senegal",
    "seoul",
    "serbia",
    "seville",
    "seychelles",
    "shanghai",
    "shenzhen",
    "shopify",
    "singapore",
    "slack",
    "slovakia",
    "slovenia",
    "sofia",
    "solidity",
    "somalia",
    "sony",
    "spain",
    "spanish",
    "spotify",
    "spring",
    "sql",
    "sqlite",
    "stockholm",
    "stripe",
    "sudan",
    "suriname",
    "svelte",
    "swahili",
    "sweden",
    "swedish",
    "switzerland",
    "sydney",
    "syria",
    "taipei",
    "taiwan",
    "tajikistan",
    "tanzania",
    "tehran",
    "tensorflow",
    "terraform",
    "tesla",
    "thai",
    "thailand",
    "tiktok",
    "togo",
    "tokyo",
    "tonga",
    "toronto",
    "toyota",
    "tunisia",
    "turkish",
    "turkmenistan",
    "tuvalu",
    "twitter",
    "typescript",
    "uber",
    "ubuntu",
    "uganda",
    "ukraine",
    "ukrainian",
    "urdu",
    "uruguay",
    "uzbekistan",
    "valencia",
    "vancouver",
    "vanuatu",
    "venezuela",
    "venice",
    "vienna",
    "vietnam",
    "vietnamese",
    "visa",
    "volkswagen",
    "vue",
    "wales",
    "warsaw",
    "whatsapp",
    "windows",
    "yemen",
    "youtube",
    "zambia",
    "zealand",
    "zig",
    "zimbabwe",
    "zoom",
    "zurich",
];

/// Words that relate what stands on their left to what stands on their right.
const DIRECTIONAL: &[&str] = &["to", "into", "from", "than", "vs", "versus"];

/// Units of measure, singular; a trailing `s` or `es` is taken off before looking up.
const UNITS: &[&str] = &[
    "mm",
    "cm",
    "m",
    "km",
    "meter",
    "metre",
    "centimeter",
    "centimetre",
    "millimeter",
    "millimetre",
    "kilometer",
    "kilometre",
    "inch",
    "inche",
    "foot",
    "feet",
    "ft",
    "yard",
    "mile",
    "gram",
    "g",
    "kg",
    "kilogram",
    "milligram",
    "mg",
    "pound",
    "lb",
    "ounce",
    "oz",
    "ton",
    "tonne",
    "liter",
    "litre",
    "l",
    "ml",
    "milliliter",
    "millilitre",
    "gallon",
    "quart",
    "pint",
    "cup",
    "tablespoon",
    "tbsp",
    "teaspoon",
    "tsp",
    "celsius",
    "fahrenheit",
    "kelvin",
    "seconds",
    "sec",
    "minute",
    "min",
    "hour",
    "hr",
    "week",
    "month",
    "year",
    "decade",
    "century",
    "byte",
    "kb",
    "mb",
    "gb",
    "tb",
    "bit",
    "kbps",
    "mbps",
    "gbps",
    "dollar",
    "usd",
    "euro",
    "eur",
    "yen",
    "gbp",
    "percent",
    "mph",
    "kph",
    "kmh",
    "watt",
    "kw",
    "kwh",
    "volt",
    "amp",
    "hz",
    "khz",
    "mhz",
    "ghz",
    "calorie",
    "kcal",
    "acre",
    "hectare",
    "degree",
    "radian",
];

fn unit(w: &str) -> Option<&'static str> {
    let singular = [
        w,
        w.strip_suffix("es").unwrap_or(w),
        w.strip_suffix('s').unwrap_or(w),
    ];
    singular
        .iter()
        .find_map(|s| UNITS.iter().find(|u| *u == s).copied())
        .map(|u| match u {
            "metre" => "meter",
            "centimetre" => "centimeter",
            "millimetre" => "millimeter",
            "kilometre" => "kilometer",
            "litre" => "liter",
            "millilitre" => "milliliter",
            "inche" => "inch",
            "feet" => "foot",
            other => other,
        })
}

/// Short words that say nothing on their own, left out of the direction guard's sides.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "for", "with", "and", "or", "my", "your", "our",
    "their", "its", "it", "this", "that", "these", "those", "i", "you", "we", "they", "he", "she",
    "how", "do", "does", "did", "what", "whats", "is", "are", "was", "were", "be", "can", "could",
    "should", "would", "will", "me", "please", "some", "any",
];

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "without",
    "cannot", "non", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont",
    "wouldnt", "shouldnt", "couldnt", "cant", "hasnt", "havent", "hadnt", "mustnt", "neednt",
    "aint",
];

/// Common opposites, each pair once; inflections are matched through [`stem`].
const OPPOSITES: &[(&str, &str)] = &[
    ("add", "remove"),
    ("add", "delete"),
    ("start", "stop"),
    ("start", "end"),
    ("begin", "end"),
    ("open", "close"),
    ("max", "min"),
    ("maximum", "minimum"),
    ("maximize", "minimize"),
    ("before", "after"),
    ("hot", "cold"),
    ("warm", "cool"),
    ("buy", "sell"),
    ("first", "last"),
    ("show", "hide"),
    ("allow", "block"),
    ("allow", "deny"),
    ("accept", "reject"),
    ("include", "exclude"),
    ("push", "pull"),
    ("win", "lose"),
    ("on", "off"),
    ("true", "false"),
    ("up", "down"),
    ("best", "worst"),
    ("better", "worse"),
    ("more", "less"),
    ("more", "fewer"),
    ("most", "least"),
    ("above", "below"),
    ("over", "under"),
    ("inside", "outside"),
    ("left", "right"),
    ("north", "south"),
    ("east", "west"),
    ("fast", "slow"),
    ("faster", "slower"),
    ("fastest", "slowest"),
    ("quick", "slow"),
    ("cheap", "expensive"),
    ("big", "small"),
    ("large", "small"),
    ("high", "low"),
    ("higher", "lower"),
    ("highest", "lowest"),
    ("long", "short"),
    ("longer", "shorter"),
    ("old", "new"),
    ("older", "newer"),
    ("oldest", "newest"),
    ("young", "old"),
    ("light", "dark"),
    ("heavy", "light"),
    ("love", "hate"),
    ("like", "dislike"),
    ("pro", "con"),
    ("benefit", "drawback"),
    ("positive", "negative"),
    ("safe", "dangerous"),
    ("gain", "lose"),
    ("profit", "loss"),
    ("rise", "fall"),
    ("ascending", "descending"),
    ("asc", "desc"),
    ("input", "output"),
    ("send", "receive"),
    ("lend", "borrow"),
    ("give", "take"),
    ("arrive", "depart"),
    ("arrival", "departure"),
    ("enter", "exit"),
    ("entry", "exit"),
    ("join", "leave"),
    ("wide", "narrow"),
    ("thick", "thin"),
    ("wet", "dry"),
    ("full", "empty"),
    ("rich", "poor"),
    ("strong", "weak"),
    ("easy", "hard"),
    ("easy", "difficult"),
    ("simple", "complex"),
    ("early", "late"),
    ("earliest", "latest"),
    ("always", "never"),
    ("all", "none"),
    ("same", "different"),
    ("private", "public"),
    ("internal", "external"),
    ("local", "remote"),
    ("client", "server"),
    ("read", "write"),
    ("get", "set"),
    ("male", "female"),
    ("man", "woman"),
    ("men", "women"),
    ("boy", "girl"),
    ("day", "night"),
    ("morning", "evening"),
    ("summer", "winter"),
    ("horizontal", "vertical"),
    ("horizontally", "vertically"),
    ("row", "column"),
    ("upper", "lower"),
    ("plus", "minus"),
    ("multiply", "divide"),
    ("sum", "difference"),
    ("attack", "defend"),
    ("win", "loss"),
    ("increase", "reduce"),
    ("raise", "lower"),
    ("expand", "collapse"),
    ("expand", "shrink"),
    ("grow", "shrink"),
    ("gain", "loss"),
    ("credit", "debit"),
    ("deposit", "withdraw"),
    ("import", "export"),
    ("upload", "download"),
    ("inbound", "outbound"),
    ("incoming", "outgoing"),
    ("mute", "unmute"),
    ("freeze", "thaw"),
    ("melt", "freeze"),
    ("sweet", "sour"),
    ("soft", "hard"),
    ("loud", "quiet"),
    ("rise", "set"),
    ("sunrise", "sunset"),
    ("in", "out"),
    ("into", "out"),
    ("inside", "out"),
    ("zoom", "unzoom"),
    ("forward", "backward"),
    ("forwards", "backwards"),
    ("front", "back"),
    ("top", "bottom"),
    ("head", "tail"),
    ("prefix", "suffix"),
    ("leading", "trailing"),
    ("parent", "child"),
    ("encode", "decode"),
    ("serialize", "deserialize"),
    ("compress", "decompress"),
    ("zip", "unzip"),
    ("pack", "unpack"),
    ("mount", "unmount"),
    ("merge", "split"),
];

/// Prefixes that turn a word into its opposite (or another direction) when the stem is
/// the same: `dis`+able vs `en`+able, `in`+crease vs `de`+crease.
const PREFIXES: &[&str] = &[
    "un", "dis", "de", "in", "im", "il", "ir", "non", "anti", "mis", "en", "ex", "up", "down",
    "over", "under", "upper", "lower", "pre", "post",
];

/// Number words as digits, so "5" and "five" agree.
fn number_word(w: &str) -> Option<&'static str> {
    Some(match w {
        "zero" => "0",
        "one" => "1",
        "two" => "2",
        "three" => "3",
        "four" => "4",
        "five" => "5",
        "six" => "6",
        "seven" => "7",
        "eight" => "8",
        "nine" => "9",
        "ten" => "10",
        "eleven" => "11",
        "twelve" => "12",
        "thirteen" => "13",
        "fourteen" => "14",
        "fifteen" => "15",
        "sixteen" => "16",
        "seventeen" => "17",
        "eighteen" => "18",
        "nineteen" => "19",
        "twenty" => "20",
        "thirty" => "30",
        "forty" => "40",
        "fifty" => "50",
        "sixty" => "60",
        "seventy" => "70",
        "eighty" => "80",
        "ninety" => "90",
        "hundred" => "100",
        "thousand" => "1000",
        "million" => "1000000",
        "billion" => "1000000000",
        "dozen" => "12",
        "half" => "0.5",
        "twice" => "2",
        "double" => "2",
        "triple" => "3",
        _ => return None,
    })
}

/// A crude suffix stripper: enough that "increases" meets "increase" and "enabling"
/// meets "enable" in the tables above.
fn stem(w: &str) -> &str {
    let mut w = w;
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(s) = w.strip_suffix(suffix) {
            if s.len() >= 3 {
                w = s;
                break;
            }
        }
    }
    match w.strip_suffix('e') {
        Some(s) if s.len() >= 3 => s,
        _ => w,
    }
}

/// Splits text into words (letters, digits and apostrophes; `3.5` and `1,000` stay whole)
/// with whether each starts a sentence.
fn tokens(text: &str) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut sentence_start = true;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() {
            let start = i;
            while i < chars.len() {
                let c = chars[i];
                let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
                let prev_digit = i > start && chars[i - 1].is_ascii_digit();
                if c.is_alphanumeric()
                    || ((c == '\'' || c == '’')
                        && chars.get(i + 1).is_some_and(|n| n.is_alphabetic()))
                    || ((c == '.' || c == ',') && prev_digit && next_digit)
                {
                    i += 1;
                } else {
                    break;
                }
            }
            out.push((chars[start..i].iter().collect(), sentence_start));
            sentence_start = false;
        } else {
            if matches!(
                c,
                '.' | '!' | '?' | '\n' | ':' | ';' | '"' | '(' | '-' | '*' | '#'
            ) {
                sentence_start = true;
            }
            // "15%" says the same as "15 percent".
            if c == '%' {
                out.push(("percent".to_owned(), false));
            }
            i += 1;
        }
    }
    out
}

impl Signature {
    pub fn of(text: &str) -> Signature {
        let toks = tokens(text);
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let upper = text.chars().filter(|c| c.is_uppercase()).count();
        // All caps (or nearly) says nothing about which words are names.
        let shouting = letters > 0 && upper * 10 > letters * 6;
        let mut sig = Signature::default();
        // Lowercased, in order, for the direction guard.
        let mut words = Vec::with_capacity(toks.len());
        for (tok, at_start) in &toks {
            // "France's" names France.
            let tok = tok
                .strip_suffix("'s")
                .or_else(|| tok.strip_suffix("’s"))
                .filter(|t| !t.is_empty())
                .unwrap_or(tok);
            let lower: String = tok
                .chars()
                .filter(|c| *c != '\'' && *c != '’')
                .flat_map(char::to_lowercase)
                .collect();
            let contracted = {
                let t = tok.to_lowercase();
                t.ends_with("n't") || t.ends_with("n’t")
            };
            if NEGATIONS.contains(&lower.as_str()) || contracted {
                sig.negations += 1;
            }
            if tok.chars().any(|c| c.is_ascii_digit()) {
                sig.numbers.push(tok.replace(',', ""));
            } else if let Some(n) = number_word(&lower) {
                sig.numbers.push(n.to_owned());
            }
            let mut chars = tok.chars();
            let first_upper = chars.next().is_some_and(char::is_uppercase);
            let inner_upper = chars.any(char::is_uppercase);
            let entity = (!shouting
                && tok != "I"
                && !tok.starts_with("I'")
                && ((first_upper && !at_start) || inner_upper))
                || NAMES.binary_search(&lower.as_str()).is_ok();
            if entity && !sig.entities.contains(&lower) {
                sig.entities.push(lower.clone());
            }
            if let Some(u) = unit(&lower) {
                sig.units.push(u.to_owned());
            }
            sig.words.insert(lower.clone());
            words.push(lower);
        }
        for (i, w) in words.iter().enumerate() {
            if DIRECTIONAL.contains(&w.as_str()) && !sig.sides.iter().any(|(d, ..)| d == w) {
                let side = |ws: &[String]| -> HashSet<String> {
                    ws.iter()
                        .filter(|w| {
                            !STOPWORDS.contains(&w.as_str()) && !DIRECTIONAL.contains(&w.as_str())
                        })
                        .cloned()
                        .collect()
                };
                sig.sides
                    .push((w.clone(), side(&words[..i]), side(&words[i + 1..])));
            }
        }
        sig
    }

    /// `Ok` when a cached answer to `self` may answer `other`, else the guard that refused.
    pub fn compatible(&self, other: &Signature) -> Result<(), Guard> {
        if self.negations != other.negations {
            return Err(Guard::Negation);
        }
        let sorted = |u: &[String]| {
            let mut u = u.to_vec();
            u.sort();
            u
        };
        if self.numbers != other.numbers || sorted(&self.units) != sorted(&other.units) {
            return Err(Guard::Number);
        }
        for (a, b) in [(self, other), (other, self)] {
            if a.entities.iter().any(|e| !b.words.contains(e)) {
                return Err(Guard::Entity);
            }
        }
        for (d, left_a, right_a) in &self.sides {
            let Some((_, left_b, right_b)) = other.sides.iter().find(|(e, ..)| e == d) else {
                continue;
            };
            let crossed =
                |from: &HashSet<String>, to: &HashSet<String>| from.iter().any(|w| to.contains(w));
            if crossed(left_a, right_b) && crossed(right_a, left_b) {
                return Err(Guard::Order);
            }
        }
        let only_a: Vec<&String> = self.words.difference(&other.words).collect();
        let only_b: Vec<&String> = other.words.difference(&self.words).collect();
        for x in &only_a {
            for y in &only_b {
                if opposite(x, y) {
                    return Err(Guard::Antonym);
                }
            }
        }
        Ok(())
    }
}

fn opposite(x: &str, y: &str) -> bool {
    let (sx, sy) = (stem(x), stem(y));
    let listed = OPPOSITES.iter().any(|&(p, q)| {
        let (p, q) = (stem(p), stem(q));
        (p == sx && q == sy) || (p == sy && q == sx)
    });
    if listed {
        return true;
    }
    // The same stem behind different prefixes (or one bare): enable/disable,
    // install/uninstall, increase/decrease.
    splits(sx).any(|(px, rx)| rx.len() >= 3 && splits(sy).any(|(py, ry)| px != py && rx == ry))
}

/// A word as (prefix, rest) for each of [`PREFIXES`] it starts with, and as itself.
fn splits(w: &str) -> impl Iterator<Item = (Option<&'static str>, &str)> {
    PREFIXES
        .iter()
        .filter_map(move |p| w.strip_prefix(p).map(|rest| (Some(*p), rest)))
        .chain([(None, w)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str) -> Result<(), Guard> {
        Signature::of(a).compatible(&Signature::of(b))
    }

    #[test]
    fn the_issues_pairs() {
        assert_eq!(
            check("How do I enable X?", "How do I disable X?"),
            Err(Guard::Antonym)
        );
        assert_eq!(check("Is 17 prime?", "Is 21 prime?"), Err(Guard::Number));
        assert_eq!(
            check(
                "What's the weather in Paris?",
                "What's the weather in London?"
            ),
            Err(Guard::Entity)
        );
        assert_eq!(
            check(
                "Can I take ibuprofen with coffee?",
                "Can I not take ibuprofen with coffee?"
            ),
            Err(Guard::Negation)
        );
        assert_eq!(
            check("Should I use tabs?", "Shouldn't I use tabs?"),
            Err(Guard::Negation)
        );
        assert_eq!(
            check("Is Rust faster than Go?", "Is Go faster than Rust?"),
            Err(Guard::Order)
        );
        assert_eq!(
            check("How do I install numpy", "how do I uninstall numpy"),
            Err(Guard::Antonym)
        );
        assert_eq!(
            check("increase the font size", "decreasing the font size"),
            Err(Guard::Antonym)
        );
        assert_eq!(
            check(
                "How do I convert a string to a list in Python?",
                "How do I convert a list to a string in Python?"
            ),
            Err(Guard::Order)
        );
        assert_eq!(
            check(
                "Convert 10 miles to kilometers",
                "Convert 10 miles to meters"
            ),
            Err(Guard::Number)
        );
        assert_eq!(
            check("zoom in on a Mac", "zoom out on a Mac"),
            Err(Guard::Antonym)
        );
    }

    #[test]
    fn rewording_passes() {
        for (a, b) in [
            (
                "HOW DO I SORT A LIST IN PYTHON",
                "How do I sort a list in Python?",
            ),
            (
                "how do i sort a list in python",
                "How do I sort a list in Python?",
            ),
            (
                "What is the capital of France?",
                "Tell me France's capital city",
            ),
            ("Convert 5 km to miles", "How many miles is five km?"),
            (
                "Is it safe to run without a helmet",
                "Is running without a helmet safe?",
            ),
            (
                "Summarise this in 3 bullet points",
                "Summarise this in 3 bullet points please",
            ),
            (
                "How do I get from Paris to Rome?",
                "How do I go to Rome from Paris?",
            ),
            (
                "How many kilometres is 10 miles",
                "Convert 10 miles to kilometers",
            ),
        ] {
            assert_eq!(check(a, b), Ok(()), "{a} / {b}");
        }
    }

    #[test]
    fn the_names_are_sorted_lowercase_words() {
        assert!(NAMES.windows(2).all(|w| w[0] < w[1]));
        assert!(NAMES
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_lowercase())));
    }

    #[test]
    fn numbers_keep_decimals_and_thousands() {
        let s = Signature::of("Is 3.5 more than 1,000? It's 2024.");
        assert_eq!(s.numbers, ["3.5", "1000", "2024"]);
        assert_eq!(check("version 3.11", "version 3.12"), Err(Guard::Number));
    }
}
