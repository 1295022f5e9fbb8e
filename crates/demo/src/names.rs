//! Built-in name lists, and the rules that turn a name into logins and emails.
//!
//! The lists are deliberately mixed (a few accented and apostrophe names) so
//! that the UTF-8 handling of every consumer gets exercised by the demo.

#[rustfmt::skip]
pub(crate) const FIRST_NAMES: &[&str] = &[
    "Aaliyah", "Aaron", "Abigail", "Adam", "Adrian", "Ahmed", "Aisha", "Alan", "Alejandro", "Alex",
    "Alice", "Amanda", "Amir", "Ana", "Andrea", "Andrew", "Angela", "Anna", "Anthony", "Arjun",
    "Ashley", "Beatriz", "Ben", "Brian", "Camila", "Carlos", "Carmen", "Catherine", "Chen",
    "Chloe", "Chris", "Claire", "Daniel", "David", "Deborah", "Diana", "Diego", "Dmitri", "Elena",
    "Elizabeth", "Emily", "Emma", "Eric", "Fatima", "Felix", "Fiona", "Francesca", "Gabriel",
    "Grace", "Hannah", "Hassan", "Helen", "Henry", "Hiroshi", "Ian", "Imani", "Isabel", "Ivan",
    "Jack", "James", "Jasmine", "Jason", "Jennifer", "Jessica", "John", "Jorge", "José", "Julia",
    "Karen", "Kenji", "Kevin", "Kwame", "Laura", "Leila", "Liam", "Linda", "Lucas", "Lucy",
    "Maria", "Mark", "Matthew", "Maya", "Mei", "Michael", "Michelle", "Mohammed", "Nadia", "Naomi",
    "Nathan", "Nicole", "Nikhil", "Noah", "Olga", "Oliver", "Olivia", "Omar", "Patrick", "Paul",
    "Priya", "Rachel", "Rafael", "Rahul", "Rebecca", "Ricardo", "Robert", "Ryan", "Samuel", "Sara",
    "Sean", "Sofia", "Sophie", "Stephen", "Susan", "Tariq", "Thomas", "Tiago", "Victoria", "Wei",
    "William", "Yuki", "Zoë",
];

#[rustfmt::skip]
pub(crate) const LAST_NAMES: &[&str] = &[
    "Adams", "Ahmed", "Allen", "Alvarez", "Anderson", "Baker", "Bauer", "Bell", "Brooks", "Brown",
    "Campbell", "Carter", "Castro", "Chen", "Clark", "Collins", "Cooper", "Costa", "Cruz", "Das",
    "Davies", "Davis", "Diaz", "Edwards", "Evans", "Fischer", "Flores", "Garcia", "Gomez",
    "Gonzalez", "Green", "Gupta", "Hall", "Harris", "Hernandez", "Hill", "Huang", "Hughes",
    "Ibrahim", "Ito", "Jackson", "Jensen", "Johnson", "Jones", "Kang", "Kaur", "Khan", "Kim",
    "King", "Kowalski", "Kumar", "Lee", "Lewis", "Li", "Lopez", "Martin", "Martinez", "Mendoza",
    "Miller", "Mitchell", "Moore", "Morales", "Morgan", "Müller", "Murphy", "Nakamura", "Nelson",
    "Nguyen", "Novak", "Nuñez", "O'Brien", "O'Connor", "Okafor", "Olsen", "Ortiz", "Park", "Patel",
    "Perez", "Petrov", "Phillips", "Quinn", "Ramirez", "Reddy", "Reyes", "Roberts", "Robinson",
    "Rodriguez", "Rossi", "Ruiz", "Sanchez", "Santos", "Schmidt", "Scott", "Shah", "Silva",
    "Singh", "Smith", "Sokolov", "Stewart", "Sullivan", "Tanaka", "Taylor", "Thomas", "Thompson",
    "Torres", "Turner", "Walker", "Wang", "Ward", "White", "Williams", "Wilson", "Wong", "Wright",
    "Yamamoto", "Young", "Zhang",
];

/// Domain for every generated address; `example.com` is reserved for
/// documentation, so demo data can never mail a real person.
pub(crate) const EMAIL_DOMAIN: &str = "example.com";

/// Lower-case ASCII letters only, so accented and apostrophe names still
/// produce addresses and logins that every target system accepts.
pub(crate) fn ascii_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let mapped = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => {
                'a'
            }
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' | 'Ø' => {
                'o'
            }
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ù' | 'Û' | 'Ü' => 'u',
            'ñ' | 'Ñ' => 'n',
            'ç' | 'Ç' => 'c',
            c if c.is_ascii_alphabetic() => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(mapped);
    }
    out
}

/// `first.last`, the local part of a corporate address.
pub(crate) fn email_local(first: &str, last: &str) -> String {
    format!("{}.{}", ascii_slug(first), ascii_slug(last))
}

/// `jsmith`, the classic initial-plus-surname login of on-premise systems.
pub(crate) fn short_login(first: &str, last: &str) -> String {
    let initial: String = ascii_slug(first).chars().take(1).collect();
    format!("{initial}{}", ascii_slug(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ascii() {
        assert_eq!(email_local("Zoë", "O'Brien"), "zoe.obrien");
        assert_eq!(short_login("José", "Nuñez"), "jnunez");
        assert_eq!(short_login("Anna", "Müller"), "amuller");
    }

    #[test]
    fn lists_have_no_duplicates() {
        for list in [FIRST_NAMES, LAST_NAMES] {
            let mut sorted = list.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), list.len());
        }
    }
}
