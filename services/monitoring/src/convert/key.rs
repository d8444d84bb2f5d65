//! `pbm.monitoring.v1.KeyMonitoringService` on the wire: key monitoring as the message, its
//! status words and the text maxima of its requests.

use pbm_proto::monitoring::v1 as mon;
use pbm_server::wire::stamp;

use super::limits::{Bounded, CODE, LONG, Monitoring, SHORT, Texts};
use crate::store::KeyRow;

pub fn key_status_to(word: &str) -> mon::KeyMonitoringStatus {
    match word {
        "marked" => mon::KeyMonitoringStatus::Marked,
        "commissioned" => mon::KeyMonitoringStatus::Commissioned,
        "filed" => mon::KeyMonitoringStatus::Filed,
        "accepted" => mon::KeyMonitoringStatus::Accepted,
        "returned" => mon::KeyMonitoringStatus::Returned,
        _ => mon::KeyMonitoringStatus::Unspecified,
    }
}

pub fn key_status_word(s: i32) -> Option<&'static str> {
    match mon::KeyMonitoringStatus::try_from(s).ok()? {
        mon::KeyMonitoringStatus::Marked => Some("marked"),
        mon::KeyMonitoringStatus::Commissioned => Some("commissioned"),
        mon::KeyMonitoringStatus::Filed => Some("filed"),
        mon::KeyMonitoringStatus::Accepted => Some("accepted"),
        mon::KeyMonitoringStatus::Returned => Some("returned"),
        mon::KeyMonitoringStatus::Unspecified => None,
    }
}

pub fn key_to(k: &KeyRow) -> mon::KeyMonitoring {
    mon::KeyMonitoring {
        round_id: k.round_id,
        subject_key: k.subject_key.clone(),
        status: key_status_to(&k.status) as i32,
        agency_id: k.agency_id.clone(),
        draw_id: k.draw_id,
        engagement_id: k.engagement_id,
        report: k.report.clone(),
        conclusion: k.conclusion.clone(),
        findings: serde_json::from_str(&k.findings).unwrap_or_default(),
        comments: k.comments.clone(),
        revision: k.revision,
        changed: Some(stamp(&k.changed_by, k.changed_at)),
    }
}

impl Bounded<Monitoring> for mon::MarkKeyMonitoringRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
    }
}

impl Bounded<Monitoring> for mon::CommissionKeyMonitoringRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
    }
}

impl Bounded<Monitoring> for mon::FileKeyMonitoringReportRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
        t.text(at, "report", "重点监控报告", &self.report, LONG);
        t.text(at, "conclusion", "监控结论", &self.conclusion, SHORT);
        t.each(at, "findings", "发现的问题", &self.findings, SHORT);
    }
}

impl Bounded<Monitoring> for mon::DecideKeyMonitoringReportRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
        t.text(at, "comments", "审核意见", &self.comments, LONG);
    }
}

impl Bounded<Monitoring> for mon::GetKeyMonitoringRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "subject_key", "监控对象", &self.subject_key, CODE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_round_trip_and_findings_read_back() {
        for w in ["marked", "commissioned", "filed", "accepted", "returned"] {
            assert_eq!(key_status_word(key_status_to(w) as i32), Some(w));
        }
        assert_eq!(key_status_word(0), None);
        let at = chrono::NaiveDate::from_ymd_opt(2026, 7, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let row = KeyRow {
            round_id: 1,
            subject_key: "P1".into(),
            status: "filed".into(),
            agency_id: "A".into(),
            draw_id: 2,
            engagement_id: 3,
            report: "报告".into(),
            conclusion: "结论".into(),
            findings: r#"["问题一","问题二"]"#.into(),
            comments: String::new(),
            revision: 3,
            changed_by: "a".into(),
            changed_at: at,
        };
        assert_eq!(key_to(&row).findings, ["问题一", "问题二"]);
    }
}
