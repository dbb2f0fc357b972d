//! [`IdnRules`]: which command values each SDK turns into punycode, and
//! how. exh-task converts locally, never with an extra API call.
//!
//! The two SDKs differ:
//!
//! | | HEXONET (`hexonet.apiconnector` 4.0.2) | CentralNic Reseller (`centralnicreseller.apiconnector` 6.0.0) |
//! | --- | --- | --- |
//! | keys | `DOMAIN*`, `NAMESERVER*`, `DNSZONE*` | `NAMESERVER*`, `NS*`, `DNSZONE*`; `OBJECTID` when `OBJECTCLASS` is `DOMAIN`, `DOMAINAPPLICATION`, `DOMAINBLOCKING`, `NAMESERVER`, `NS` or `DNSZONE` (any case) |
//! | commands | all but `ConvertIDN` | all |
//! | how | the API's `ConvertIDN` (UTS 46) | Python's `idna` package: UTS 46 mapping then IDNA 2008, except for names under `.art .be .ca .de .swiss .fr .pm .re .tf .wf .yt`, which are taken as they are (no mapping: upper case or full-width letters fail) |
//! | a name that cannot be converted | refused ([`Error::InvalidIdn`]): the SDK's `ConvertIDN` call would fail | sent as it is, as the SDK sends it |
//!
//! Only values with a non-ASCII character are converted: an ASCII value is
//! either a name already (`[A-Za-z0-9.-]`) or one no rule can convert.
//!
//! With `idna` 3.20, which the CentralNic SDK runs on, "transitional"
//! processing is deprecated and ignored: `ß`, `ς`, ZWJ and ZWNJ are kept
//! under every TLD, as here.

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::{Command, Error};

/// The IDN conversion of one platform (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdnRules {
    /// HEXONET's: `DOMAIN*`, `NAMESERVER*`, `DNSZONE*`; a failure is an error.
    Hexonet,
    /// CentralNic Reseller's: `NAMESERVER*`, `NS*`, `DNSZONE*`, some
    /// `OBJECTID`s; a failure leaves the value as it is.
    CentralNic,
}

/// The TLDs whose names CentralNic's SDK converts without UTS 46 mapping
/// (`IDNAProcessor.NON_TRANSITIONAL_TLDS`).
const UNMAPPED_TLDS: [&str; 11] = [
    "art", "be", "ca", "de", "swiss", "fr", "pm", "re", "tf", "wf", "yt",
];

/// The `OBJECTCLASS` values whose `OBJECTID` CentralNic's SDK converts.
const NAME_CLASSES: [&str; 6] = [
    "DOMAIN",
    "DOMAINAPPLICATION",
    "DOMAINBLOCKING",
    "NAMESERVER",
    "NS",
    "DNSZONE",
];

/// What Python's `idna` splits labels on (`_unicode_dots_re`).
const DOTS: [char; 4] = ['.', '\u{3002}', '\u{ff0e}', '\u{ff61}'];

impl IdnRules {
    /// Converts the values of `command` that these rules convert.
    ///
    /// # Errors
    /// [`Error::InvalidIdn`] under [`IdnRules::Hexonet`] for a name that
    /// cannot be converted.
    pub fn convert(self, command: &mut Command) -> Result<(), Error> {
        match self {
            IdnRules::Hexonet => {
                if command.name().eq_ignore_ascii_case("CONVERTIDN") {
                    return Ok(());
                }
                for (key, value) in command.values_mut() {
                    if has_prefix_and_digits(key, &["DOMAIN", "NAMESERVER", "DNSZONE"])
                        && !value.is_ascii()
                    {
                        *value = to_punycode(value).ok_or_else(|| Error::InvalidIdn {
                            key: key.to_owned(),
                            value: value.clone(),
                        })?;
                    }
                }
            }
            IdnRules::CentralNic => {
                let object_is_name = command.get("OBJECTCLASS").is_some_and(|class| {
                    NAME_CLASSES.iter().any(|c| c.eq_ignore_ascii_case(class))
                });
                for (key, value) in command.values_mut() {
                    let converted = has_prefix_and_digits(key, &["NAMESERVER", "NS", "DNSZONE"])
                        || (key == "OBJECTID" && object_is_name);
                    if converted && !value.is_ascii() {
                        if let Some(ace) = centralnic_to_punycode(value) {
                            *value = ace;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// `^(PREFIX…)([0-9]*)$` on an upper-case name.
fn has_prefix_and_digits(key: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| {
        key.strip_prefix(prefix)
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// UTS 46 ToASCII (non-transitional, STD3 rules, hyphen checks, DNS
/// lengths with an optional root dot), as IDNA 2008 registries expect.
fn to_punycode(domain: &str) -> Option<String> {
    Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Check,
            DnsLength::VerifyAllowRootDot,
        )
        .ok()
        .map(|ascii| ascii.into_owned())
}

/// `IDNAProcessor.to_ascii`: mapped for most TLDs, as it is for the
/// [`UNMAPPED_TLDS`]. `None` where it raises.
fn centralnic_to_punycode(domain: &str) -> Option<String> {
    let tld = domain.strip_suffix('.').unwrap_or(domain);
    let unmapped = tld.rsplit_once('.').is_some_and(|(_, tld)| {
        UNMAPPED_TLDS
            .iter()
            .any(|unmapped| unmapped.eq_ignore_ascii_case(tld))
    });
    if unmapped {
        to_punycode_unmapped(domain)
    } else {
        to_punycode(domain)
    }
}

/// Python's `idna.encode(domain)` without UTS 46 mapping: every label must
/// already be in its mapped form (lower case, NFC, no full-width letters);
/// ASCII labels keep their case.
fn to_punycode_unmapped(domain: &str) -> Option<String> {
    // `valid_string_length(s, trailing_dot=True)` on the input.
    if domain.chars().count() > 254 {
        return None;
    }
    let mut labels: Vec<&str> = domain.split(DOTS).collect();
    let trailing_dot = labels.len() > 1 && labels.last() == Some(&"");
    if trailing_dot {
        labels.pop();
    }
    let mut encoded = Vec::with_capacity(labels.len() + 1);
    for label in labels {
        let ace = if label.is_ascii() {
            // Checked in lower case, kept as written.
            to_punycode(&label.to_ascii_lowercase())?;
            label.to_owned()
        } else {
            let (mapped, valid) =
                Uts46::new().to_unicode(label.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
            if valid.is_err() || mapped != label {
                return None;
            }
            to_punycode(label)?
        };
        if ace.is_empty() || ace.len() > 63 || ace.contains('.') {
            return None;
        }
        encoded.push(ace);
    }
    if trailing_dot {
        encoded.push(String::new());
    }
    let ace = encoded.join(".");
    (ace.len() <= if trailing_dot { 254 } else { 253 }).then_some(ace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One named test per case: the rules, the command, and its `s_command`
    /// text once converted (or the error).
    macro_rules! converts {
        ($($name:ident: $rules:ident, $input:tt => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let mut command = Command::from_json(&json!($input)).unwrap();
                let got = IdnRules::$rules.convert(&mut command).map(|()| command.plain());
                assert_eq!(got, $want.map(str::to_owned));
            }
        )*};
    }

    fn key(k: &str) -> String {
        k.to_owned()
    }

    converts! {
        hexonet_converts_domains_and_nameservers: Hexonet, {"COMMAND": "Q", "DOMAIN": "MÜNCHEN.de", "NAMESERVER": ["ns.bücher.de"]}
            => Ok::<&str, Error>("COMMAND=Q\nDOMAIN=xn--mnchen-3ya.de\nNAMESERVER0=ns.xn--bcher-kva.de");
        hexonet_leaves_ascii_alone: Hexonet, {"COMMAND": "Q", "DOMAIN": "Under_Score.COM"}
            => Ok("COMMAND=Q\nDOMAIN=Under_Score.COM");
        hexonet_leaves_other_keys_alone: Hexonet, {"COMMAND": "Q", "OLDDOMAIN": "ü.de", "DOMAINX": "ü.de"}
            => Ok("COMMAND=Q\nDOMAINX=ü.de\nOLDDOMAIN=ü.de");
        hexonet_leaves_convertidn_alone: Hexonet, {"COMMAND": "convertidn", "DOMAIN": "ü.de"}
            => Ok("COMMAND=convertidn\nDOMAIN=ü.de");
        hexonet_refuses_an_invalid_name_by_key: Hexonet, {"COMMAND": "Q", "DOMAIN": ["a.com", "-ü.de"]}
            => Err(Error::InvalidIdn { key: key("DOMAIN1"), value: key("-ü.de") });
        centralnic_leaves_domains_to_the_api: CentralNic, {"COMMAND": "Q", "DOMAIN": "münchen.de", "NS": ["ns.bücher.com"]}
            => Ok("COMMAND=Q\nDOMAIN=münchen.de\nNS0=ns.xn--bcher-kva.com");
        centralnic_converts_convertidn_too: CentralNic, {"COMMAND": "ConvertIDN", "DNSZONE": "bücher.com"}
            => Ok("COMMAND=ConvertIDN\nDNSZONE=xn--bcher-kva.com");
        centralnic_converts_name_object_ids: CentralNic, {"COMMAND": "Q", "OBJECTCLASS": "domain", "OBJECTID": "bücher.com"}
            => Ok("COMMAND=Q\nOBJECTCLASS=domain\nOBJECTID=xn--bcher-kva.com");
        centralnic_leaves_other_object_ids: CentralNic, {"COMMAND": "Q", "OBJECTCLASS": "CONTACT", "OBJECTID": "bücher.com"}
            => Ok("COMMAND=Q\nOBJECTCLASS=CONTACT\nOBJECTID=bücher.com");
        centralnic_maps_upper_case_under_com: CentralNic, {"COMMAND": "Q", "NAMESERVER": "NS.BÜCHER.COM"}
            => Ok("COMMAND=Q\nNAMESERVER=ns.xn--bcher-kva.com");
        centralnic_does_not_map_under_de: CentralNic, {"COMMAND": "Q", "NAMESERVER": "NS.BÜCHER.DE"}
            => Ok("COMMAND=Q\nNAMESERVER=NS.BÜCHER.DE");
        centralnic_keeps_ascii_case_under_de: CentralNic, {"COMMAND": "Q", "NAMESERVER": "NS.bücher.DE"}
            => Ok("COMMAND=Q\nNAMESERVER=NS.xn--bcher-kva.DE");
        centralnic_keeps_sharp_s: CentralNic, {"COMMAND": "Q", "NS": "straße.com"}
            => Ok("COMMAND=Q\nNS=xn--strae-oqa.com");
        centralnic_sends_an_invalid_name_as_it_is: CentralNic, {"COMMAND": "Q", "NS": "-ü.com"}
            => Ok("COMMAND=Q\nNS=-ü.com");
    }
}
