//! The sandbox's DNS with an egress allow-list: answers for allowed names only (RFC 1035).
//!
//! An allowed name gets the address inside the sandbox where hutch's forwarder listens for it
//! ([`super::allow::EgressPlan::address_of`]), never its real address: the real one is useless
//! inside (there is no route out) and the forwarder resolves it itself, outside. Every other name
//! is NXDOMAIN, so no lookup leaves the sandbox either (DNS itself is a way to send data out).
//! Only A records exist; AAAA and other types of an allowed name get an empty answer, after
//! which resolvers use the A record.

use std::net::Ipv4Addr;

use super::allow::{normalize, EgressPlan};

const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
const RCODE_FORMERR: u8 = 1;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_NOTIMP: u8 = 4;
/// Seconds resolvers may keep an answer: the plan does not change while the sandbox runs.
const TTL: u32 = 300;

/// What the answerer decided for one query, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Answered {
        name: String,
        address: Ipv4Addr,
    },
    /// An allowed name, a type other than A: no records.
    NoData {
        name: String,
        qtype: u16,
    },
    Refused {
        name: String,
    },
    Malformed,
}

/// The response to the DNS `query`, and what it said; `None` for bytes too short to answer
/// (no id to answer to).
pub fn answer(plan: &EgressPlan, query: &[u8]) -> Option<(Vec<u8>, Decision)> {
    let header = query.get(..12)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    let is_response = flags & 0x8000 != 0;
    let opcode = ((flags >> 11) & 0xf) as u8;
    let recursion_desired = flags & 0x0100 != 0;
    let questions = u16::from_be_bytes([header[4], header[5]]);
    let reply = |rcode: u8, question: &[u8], record: Option<Ipv4Addr>| {
        let mut out = Vec::with_capacity(12 + question.len() + 16);
        out.extend_from_slice(&header[..2]);
        let mut flags = 0x8000 | (u16::from(opcode) << 11) | 0x0080 | u16::from(rcode);
        if recursion_desired {
            flags |= 0x0100;
        }
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&u16::from(!question.is_empty()).to_be_bytes());
        out.extend_from_slice(&u16::from(record.is_some()).to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(question);
        if let Some(address) = record {
            out.extend_from_slice(&[0xc0, 12]); // the name: a pointer to the question's
            out.extend_from_slice(&TYPE_A.to_be_bytes());
            out.extend_from_slice(&CLASS_IN.to_be_bytes());
            out.extend_from_slice(&TTL.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&address.octets());
        }
        out
    };
    if is_response {
        return None;
    }
    if opcode != 0 {
        return Some((reply(RCODE_NOTIMP, &[], None), Decision::Malformed));
    }
    let Some((name, question_len)) = (questions == 1)
        .then(|| question_name(&query[12..]))
        .flatten()
    else {
        return Some((reply(RCODE_FORMERR, &[], None), Decision::Malformed));
    };
    let question = &query[12..12 + question_len];
    let qtype = u16::from_be_bytes([question[question_len - 4], question[question_len - 3]]);
    let qclass = u16::from_be_bytes([question[question_len - 2], question[question_len - 1]]);
    let address = normalize(&name).and_then(|n| plan.address_of(&n));
    Some(match address {
        None => (
            reply(RCODE_NXDOMAIN, question, None),
            Decision::Refused { name },
        ),
        Some(address) if qtype == TYPE_A && qclass == CLASS_IN => (
            reply(0, question, Some(address)),
            Decision::Answered { name, address },
        ),
        Some(_) => (reply(0, question, None), Decision::NoData { name, qtype }),
    })
}

/// The dotted name of the question at the start of `bytes` and the question's length (name,
/// type and class). Compression pointers have nothing to point to in a question: refused.
fn question_name(bytes: &[u8]) -> Option<(String, usize)> {
    let mut labels: Vec<&str> = Vec::new();
    let mut at = 0;
    loop {
        let len = *bytes.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        let label = bytes.get(at..at + len)?;
        labels.push(std::str::from_utf8(label).ok()?);
        at += len;
        if at > 255 {
            return None;
        }
    }
    bytes.get(at..at + 4)?;
    Some((labels.join("."), at + 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    fn plan() -> EgressPlan {
        EgressPlan::new(&["a.test".parse().unwrap(), "db.test:5432".parse().unwrap()]).unwrap()
    }

    #[test]
    fn allowed_names_get_the_forwarders_address() {
        let (response, decision) = answer(&plan(), &query("A.test", TYPE_A)).unwrap();
        assert_eq!(
            decision,
            Decision::Answered {
                name: "A.test".into(),
                address: super::super::allow::FORWARDER
            }
        );
        assert_eq!(&response[..2], &[0x12, 0x34], "same id");
        assert_eq!(response[3] & 0xf, 0, "NOERROR");
        assert_eq!(&response[6..8], &[0, 1], "one answer");
        assert_eq!(&response[response.len() - 4..], &[127, 77, 0, 1]);
        let (response, _) = answer(&plan(), &query("db.test", TYPE_A)).unwrap();
        assert_eq!(&response[response.len() - 4..], &[127, 77, 1, 1]);
    }

    #[test]
    fn other_names_do_not_exist_and_other_types_are_empty() {
        let (response, decision) = answer(&plan(), &query("b.test", TYPE_A)).unwrap();
        assert_eq!(response[3] & 0xf, RCODE_NXDOMAIN);
        assert_eq!(
            decision,
            Decision::Refused {
                name: "b.test".into()
            }
        );
        let (response, decision) = answer(&plan(), &query("a.test", 28)).unwrap();
        assert_eq!(response[3] & 0xf, 0);
        assert_eq!(&response[6..8], &[0, 0], "no answers");
        assert!(matches!(decision, Decision::NoData { qtype: 28, .. }));
    }

    #[test]
    fn malformed_queries_are_format_errors() {
        assert_eq!(answer(&plan(), &[1, 2, 3]), None);
        let mut truncated = query("a.test", TYPE_A);
        truncated.truncate(truncated.len() - 2);
        let (response, decision) = answer(&plan(), &truncated).unwrap();
        assert_eq!(decision, Decision::Malformed);
        assert_eq!(response[3] & 0xf, RCODE_FORMERR);
        let mut pointer = query("a.test", TYPE_A);
        pointer[12] = 0xc0;
        assert_eq!(answer(&plan(), &pointer).unwrap().1, Decision::Malformed);
    }
}
