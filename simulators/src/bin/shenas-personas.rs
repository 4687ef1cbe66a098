//! `shenas-personas --count N --seed S --out DIR`: writes N distinct, valid, fictitious personas
//! (`DIR/persona-0001.toml` …) for simulated cards: national codes with a valid check digit (and
//! distinct), FIDAs for foreign nationals (about one in four), plausible Persian and Latin names
//! from small built-in lists, consistent dates, fresh PINs, ECDSA P-256 key seeds. The same seed
//! gives the same files. Every file is loaded back through `Persona::from_toml_str` before it is
//! written, so a file that is written is valid.
//!
//! **No security**: tests and demos only.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use shenas_simulators::persona::{Persona, PersonaError};

/// Writes N distinct valid personas.
#[derive(Parser, Debug)]
#[command(name = "shenas-personas", version, about)]
struct Args {
    /// How many personas.
    #[arg(long, default_value_t = 10)]
    count: u32,
    /// The seed: the same seed gives the same personas.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The directory to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

const MALE: [(&str, &str); 10] = [
    ("علی", "Ali"),
    ("محمد", "Mohammad"),
    ("حسین", "Hossein"),
    ("رضا", "Reza"),
    ("امیر", "Amir"),
    ("مهدی", "Mahdi"),
    ("حمید", "Hamid"),
    ("سعید", "Saeed"),
    ("کاوه", "Kaveh"),
    ("بهرام", "Bahram"),
];
const FEMALE: [(&str, &str); 10] = [
    ("مریم", "Maryam"),
    ("زهرا", "Zahra"),
    ("فاطمه", "Fatemeh"),
    ("سارا", "Sara"),
    ("نرگس", "Narges"),
    ("لیلا", "Leila"),
    ("شیرین", "Shirin"),
    ("مینا", "Mina"),
    ("پریسا", "Parisa"),
    ("نازنین", "Nazanin"),
];
const SURNAMES: [(&str, &str); 12] = [
    ("احمدی", "Ahmadi"),
    ("حسینی", "Hosseini"),
    ("کریمی", "Karimi"),
    ("رضایی", "Rezaei"),
    ("موسوی", "Mousavi"),
    ("جعفری", "Jafari"),
    ("محمدی", "Mohammadi"),
    ("صادقی", "Sadeghi"),
    ("رحیمی", "Rahimi"),
    ("نوری", "Nouri"),
    ("کاظمی", "Kazemi"),
    ("طاهری", "Taheri"),
];
const CITIES: [&str; 8] = [
    "تهران",
    "اصفهان",
    "شیراز",
    "تبریز",
    "مشهد",
    "کرمان",
    "یزد",
    "رشت",
];
const FOREIGN_PLACES: [(&str, &str); 4] = [
    ("هرات", "AFG"),
    ("کابل", "AFG"),
    ("بغداد", "IRQ"),
    ("کراچی", "PAK"),
];
const STATUSES: [&str; 4] = [
    "refugee",
    "temporary_resident",
    "permanent_resident",
    "census_registered",
];
const DOCUMENTS: [&str; 4] = [
    "amayesh",
    "hoviat",
    "passport_with_residence",
    "census_slip",
];
const RELATIONS: [&str; 5] = ["head", "spouse", "child", "parent", "other"];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        let n64 = u64::try_from(n.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next() % n64).unwrap_or(0)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.below(items.len())).copied()
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + u8::try_from(self.below(10)).unwrap_or(0)))
            .collect()
    }
}

fn national_code(rng: &mut Rng) -> String {
    loop {
        let nine = rng.digits(9);
        let sum: u32 = nine
            .bytes()
            .zip((2..=10u32).rev())
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        let r = sum % 11;
        let check = if r < 2 { r } else { 11 - r };
        let code = format!("{nine}{check}");
        if !code.bytes().all(|b| Some(b) == code.bytes().next()) {
            return code;
        }
    }
}

/// One persona as TOML; `None` when a list is empty (never, with the lists above).
fn persona_toml(index: u32, rng: &mut Rng, code: &str) -> Option<String> {
    let foreign = rng.below(4) == 0;
    let male = rng.below(2) == 0;
    let (given_fa, given_latin) = rng.pick(if male { &MALE } else { &FEMALE })?;
    let (surname_fa, surname_latin) = rng.pick(&SURNAMES)?;
    let (father_fa, father_latin) = rng.pick(&MALE)?;
    let birth_year = 1945 + rng.below(60);
    let birth = format!(
        "{birth_year:04}-{:02}-{:02}",
        1 + rng.below(12),
        1 + rng.below(28)
    );
    let issue_year = 2015 + rng.below(10);
    let issue = format!(
        "{issue_year:04}-{:02}-{:02}",
        1 + rng.below(12),
        1 + rng.below(28)
    );
    let expiry = format!(
        "{:04}{}",
        issue_year + if foreign { 5 } else { 10 },
        issue.get(4..).unwrap_or("-01-01")
    );
    let gender = if male { "male" } else { "female" };
    let id_len = 4 + rng.below(5);
    let sign_len = 6 + rng.below(3);
    let letter = if foreign { 'F' } else { 'N' };
    let mut out = format!(
        "# A generated fictitious persona (shenas-personas).\n\
         name = \"persona-{index:04}\"\n\
         portrait_seed = {}\n\n\
         [person]\n",
        rng.next() % 1_000_000
    );
    if foreign {
        let (place, nationality) = rng.pick(&FOREIGN_PLACES)?;
        out.push_str(&format!(
            "profile = \"foreign_national\"\n\
             fida = \"{}\"\n\
             birth_place = \"{place}\"\n\
             nationality = \"{nationality}\"\n\
             residence_status = \"{}\"\n\
             document_type = \"{}\"\n\
             residence_valid_until = {{ gregorian = \"{expiry}\" }}\n\
             family_group = {{ id = \"{}\", relation = \"{}\" }}\n\
             bank_service = {}\n\
             sim_service = {}\n\
             issuing_authority = \"سازمان ملی مهاجرت\"\n",
            code.get(..10).map(|c| format!("{c}{}", rng.digits(2)))?,
            rng.pick(&STATUSES)?,
            rng.pick(&DOCUMENTS)?,
            rng.digits(10),
            rng.pick(&RELATIONS)?,
            rng.below(2) == 0,
            rng.below(2) == 0,
        ));
    } else {
        out.push_str(&format!(
            "profile = \"national_id\"\n\
             national_code = \"{code}\"\n\
             birth_place = \"{}\"\n\
             issuing_authority = \"سازمان ثبت احوال کشور\"\n",
            rng.pick(&CITIES)?
        ));
    }
    out.push_str(&format!(
        "given_name_fa = \"{given_fa}\"\n\
         surname_fa = \"{surname_fa}\"\n\
         given_name_latin = \"{given_latin}\"\n\
         surname_latin = \"{surname_latin}\"\n\
         father_name_fa = \"{father_fa}\"\n\
         father_name_latin = \"{father_latin}\"\n\
         birth_date = {{ gregorian = \"{birth}\" }}\n\
         gender = \"{gender}\"\n\
         issue_date = {{ gregorian = \"{issue}\" }}\n\
         expiry_date = {{ gregorian = \"{expiry}\" }}\n\
         card_serial = \"{letter}{:09}\"\n\n\
         [pins]\n\
         id = {{ digits = \"{}\" }}\n\
         sign = {{ digits = \"{}\" }}\n\
         puk = {{ digits = \"{}\" }}\n\n\
         [keys]\n\
         auth = {{ type = \"p256\", seed = \"persona-{index:04}-auth-{}\" }}\n\
         sign = {{ type = \"p256\", seed = \"persona-{index:04}-sign-{}\" }}\n",
        100_000_000 + u64::from(index),
        rng.digits(id_len),
        rng.digits(sign_len),
        rng.digits(8),
        rng.next(),
        rng.next(),
    ));
    Some(out)
}

fn run(args: &Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let mut rng = Rng(args.seed);
    let mut codes = BTreeSet::new();
    for index in 1..=args.count {
        let code = loop {
            let c = national_code(&mut rng);
            if codes.insert(c.clone()) {
                break c;
            }
        };
        let text = persona_toml(index, &mut rng, &code).ok_or("empty name list")?;
        Persona::from_toml_str(&text).map_err(|e: PersonaError| {
            format!("generated persona {index} is invalid (a bug): {e}")
        })?;
        let path = args.out.join(format!("persona-{index:04}.toml"));
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!("wrote {} personas to {}", args.count, args.out.display());
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shenas-personas: {e}");
            ExitCode::FAILURE
        }
    }
}
