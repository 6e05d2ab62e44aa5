//! PostgreSQL's binary NUMERIC: base-10000 digits with a weight, a sign and
//! a display scale. Converted through decimal text so that a loaded value is
//! the float nearest the stored decimal (what Python's `float(Decimal)` gives).

const NBASE: i32 = 10_000;
const POS: u16 = 0x0000;
const NEG: u16 = 0x4000;
const NAN: u16 = 0xC000;
const PINF: u16 = 0xD000;
const NINF: u16 = 0xF000;

/// The binary value as the nearest f64.
pub(crate) fn decode(raw: &[u8]) -> Result<f64, String> {
    let word = |i: usize| -> Result<u16, String> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated NUMERIC value".to_owned())
    };
    let ndigits = word(0)? as usize;
    let weight = word(1)? as i16 as i32;
    let sign = word(2)?;
    match sign {
        NAN => return Ok(f64::NAN),
        PINF => return Ok(f64::INFINITY),
        NINF => return Ok(f64::NEG_INFINITY),
        POS | NEG => {}
        other => return Err(format!("bad NUMERIC sign {other:#x}")),
    }
    let digits: Vec<i32> = (0..ndigits)
        .map(|i| word(4 + i).map(i32::from))
        .collect::<Result<_, _>>()?;
    if digits.iter().any(|d| !(0..NBASE).contains(d)) {
        return Err("bad NUMERIC digit".to_owned());
    }
    let digit = |i: i32| -> i32 {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut text = String::with_capacity(8 + ndigits * 4);
    if sign == NEG {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                text.push_str(&digit(i).to_string());
            } else {
                text.push_str(&format!("{:04}", digit(i)));
            }
        }
    }
    let ndigits = ndigits as i32;
    if ndigits > weight + 1 {
        text.push('.');
        for i in (weight + 1)..ndigits {
            text.push_str(&format!("{:04}", digit(i)));
        }
    }
    text.parse::<f64>()
        .map_err(|e| format!("NUMERIC {text}: {e}"))
}

/// Encodes decimal text (`-12.5`, `3`, `0.001`; no exponent) as binary
/// NUMERIC, appending to `out`.
pub(crate) fn encode_text(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(format!("'{text}' is not a decimal number"));
    }
    let dscale = u16::try_from(frac_part.len()).map_err(|_| "too many decimals".to_owned())?;
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let int_digits: String = "0".repeat(int_pad) + int_part;
    let frac_digits: String = frac_part.to_owned() + &"0".repeat(frac_pad);
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0i16, |acc, b| acc * 10 + i16::from(b - b'0')))
            .collect()
    };
    let mut groups = group(&int_digits);
    let int_groups = groups.len() as i32;
    groups.extend(group(&frac_digits));
    let mut weight = int_groups - 1;
    let leading = groups.iter().take_while(|d| **d == 0).count();
    groups.drain(..leading);
    weight -= leading as i32;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let weight = i16::try_from(weight).map_err(|_| format!("'{text}' is out of NUMERIC range"))?;
    let sign = if negative && !groups.is_empty() {
        NEG
    } else {
        POS
    };
    out.extend_from_slice(&(groups.len() as u16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for d in groups {
        out.extend_from_slice(&d.to_be_bytes());
    }
    Ok(())
}

/// Encodes a float: its shortest round-tripping decimal, or NaN/±Infinity.
pub(crate) fn encode_f64(value: f64, out: &mut Vec<u8>) -> Result<(), String> {
    let special = if value.is_nan() {
        Some(NAN)
    } else if value == f64::INFINITY {
        Some(PINF)
    } else if value == f64::NEG_INFINITY {
        Some(NINF)
    } else {
        None
    };
    if let Some(sign) = special {
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&0i16.to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        return Ok(());
    }
    encode_text(&value.to_string(), out)
}

/// An i128 decimal with `scale` as decimal text.
pub(crate) fn decimal_text(value: i128, scale: i8) -> String {
    let negative = value < 0;
    let digits = value.unsigned_abs().to_string();
    let mut text = if scale <= 0 {
        digits + &"0".repeat(scale.unsigned_abs() as usize)
    } else {
        let scale = scale as usize;
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{int}.{frac}")
    };
    if negative {
        text.insert(0, '-');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_round_trips_through_binary() {
        for text in [
            "0",
            "1",
            "-1",
            "12345.6789",
            "0.0001",
            "-0.5",
            "100000000",
            "1e",
            "123.450",
            "0.000012",
            "99999999999999999999.99",
        ] {
            let mut out = Vec::new();
            match encode_text(text, &mut out) {
                Ok(()) => {
                    let back = decode(&out).unwrap();
                    assert_eq!(back, text.parse::<f64>().unwrap(), "{text}");
                }
                Err(e) => assert_eq!(text, "1e", "{e}"),
            }
        }
    }

    #[test]
    fn decimals_and_specials() {
        assert_eq!(decimal_text(-12345, 2), "-123.45");
        assert_eq!(decimal_text(5, 3), "0.005");
        assert_eq!(decimal_text(7, -2), "700");
        let mut out = Vec::new();
        encode_f64(f64::NAN, &mut out).unwrap();
        assert!(decode(&out).unwrap().is_nan());
    }
}
