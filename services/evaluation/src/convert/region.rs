//! The region statistics (`pbm.region.v1`) on the wire: the merged figures
//! ([`crate::domain::region`]) and the agency pool's counts.

use pbm_proto::agency::v1 as ag;
use pbm_proto::region::v1 as rg;
use pbm_server::wire::decimal;

use crate::domain::region::Figures;

pub(crate) fn pool_figures(p: &ag::GetPoolStatisticsResponse) -> rg::PoolFigures {
    let sum = |c: &[ag::CountByKey]| c.iter().map(|c| c.count).sum::<i64>();
    rg::PoolFigures {
        agencies: sum(&p.agencies_by_status),
        agencies_admitted: p
            .agencies_by_status
            .iter()
            .filter(|c| c.key == "admitted")
            .map(|c| c.count)
            .sum(),
        experts: sum(&p.experts_by_status),
        engagements: sum(&p.engagements_by_year_and_kind),
    }
}

pub(crate) fn figures_to(f: &Figures) -> rg::RegionFigures {
    rg::RegionFigures {
        projects: f.projects,
        projects_amount: decimal(f.projects_amount),
        goals_declared: f.goals_declared,
        goals_approved: f.goals_approved,
        approved_amount: decimal(f.approved_amount),
        monitored: f.monitored,
        monitoring_reported: f.monitoring_reported,
        deviated: f.deviated,
        red_warnings: f.red_warnings,
        monitored_amount: decimal(f.monitored_amount),
        executed: decimal(f.executed),
        self_evaluations: f.self_evaluations,
        self_evaluations_submitted: f.submitted,
        self_evaluations_overdue: f.overdue,
        grade_excellent: f.grades[0],
        grade_good: f.grades[1],
        grade_fair: f.grades[2],
        grade_poor: f.grades[3],
        ex_ante_required: f.ex_ante.required,
        ex_ante_required_amount: decimal(f.ex_ante.required_amount),
        ex_ante_reported: f.ex_ante.reported,
        ex_ante_missing: f.ex_ante.missing,
        ex_ante_pending_review: f.ex_ante.pending_review,
        ex_ante_returned: f.ex_ante.returned,
        ex_ante_supported: f.ex_ante.supported,
        ex_ante_supported_after_adjustment: f.ex_ante.supported_after_adjustment,
        ex_ante_not_supported: f.ex_ante.not_supported,
    }
}
