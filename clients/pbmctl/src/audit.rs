//! `pbmctl audit`: the audit trail of a service (`pbm.audit.v1.AuditService`, docs/SECURITY.md
//! "Audit log"). `verify` seals and checks the chain and prints the first broken sequence
//! number (exit 1 when broken) and the head to note down; `export` lists the rows of a time
//! range with their place in the chain. Auditors and the region's finance bureau only.

use pbm_proto::audit::v1 as pb;
use pbm_proto::common::v1::PageRequest;
use serde_json::{Value, json};

use crate::client::{Ctx, Failure, Outcome, all_pages};
use crate::json;
use crate::table::{Table, fields, time};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// 核验审计链 / Seal and verify the chain; exit 1 when it is broken.
    Verify {
        /// The service whose trail: pbm.indicator, pbm.agency or pbm.goal (or indicator, …).
        #[arg(long)]
        service: String,
    },
    /// 导出审计日志 / Export the trail's rows (oldest first).
    Export {
        /// The service whose trail: pbm.indicator, pbm.agency or pbm.goal (or indicator, …).
        #[arg(long)]
        service: String,
        /// Rows at or after this RFC 3339 time (e.g. 2026-03-01T00:00:00+08:00).
        #[arg(long)]
        from: Option<String>,
        /// Rows before this RFC 3339 time.
        #[arg(long)]
        to: Option<String>,
        /// Only the rows this service wrote, when services share one database.
        #[arg(long)]
        only_service: Option<String>,
    },
}

/// `goal` → `pbm.goal`; a full name as is.
fn service_name(service: &str) -> String {
    let service = service.trim();
    if service.starts_with("pbm.") {
        service.to_owned()
    } else {
        format!("pbm.{service}")
    }
}

pub async fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::Verify { service } => verify(ctx, &service_name(&service)).await,
        Command::Export {
            service,
            from,
            to,
            only_service,
        } => {
            let request = pb::ExportAuditRequest {
                service: service_name(&service),
                from: from.unwrap_or_default(),
                to: to.unwrap_or_default(),
                only_service: only_service
                    .as_deref()
                    .map(service_name)
                    .unwrap_or_default(),
                page: None,
            };
            export(ctx, request).await
        }
    }
}

async fn verify(ctx: &Ctx, service: &str) -> Outcome {
    let v = ctx
        .audits()
        .verify_audit_chain(ctx.req(pb::VerifyAuditChainRequest {
            service: service.to_owned(),
        }))
        .await?
        .into_inner();
    if ctx.json {
        json::print(&json!({
            "service": service,
            "ok": v.ok,
            "first_broken_seq": v.first_broken_seq,
            "reason": v.reason,
            "detail": v.detail,
            "sealed": v.sealed,
            "pending": v.pending,
            "head_seq": v.head_seq,
            "head_hash": v.head_hash,
        }));
    } else {
        let verdict = if v.ok {
            "完好 ok".to_owned()
        } else {
            format!(
                "断开 BROKEN：序号 {}，{}（{}）",
                v.first_broken_seq, v.detail, v.reason
            )
        };
        print!(
            "{}",
            fields(&[
                ("服务 service", service.to_owned()),
                ("结果 verdict", verdict),
                ("已封存 sealed", v.sealed.to_string()),
                ("待封存 pending", v.pending.to_string()),
                ("链头序号 head seq", v.head_seq.to_string()),
                ("链头哈希 head hash", v.head_hash.clone()),
            ])
        );
    }
    if v.ok {
        Ok(())
    } else {
        Err(Failure::Message(format!(
            "{service} 的审计链在序号 {} 处断开（{}）",
            v.first_broken_seq, v.reason
        )))
    }
}

async fn export(ctx: &Ctx, request: pb::ExportAuditRequest) -> Outcome {
    let rows = all_pages(String::new(), |token| {
        let mut request = request.clone();
        request.page = Some(PageRequest {
            page_size: 500,
            page_token: token,
        });
        async move {
            let page = ctx
                .audits()
                .export_audit(ctx.req(request))
                .await?
                .into_inner();
            let next = page.page.map(|p| p.next_page_token).unwrap_or_default();
            Ok((page.rows, next))
        }
    })
    .await?;
    if ctx.json {
        json::print(&Value::Array(rows.iter().map(row_json).collect()));
        return Ok(());
    }
    let mut table = Table::new(&[
        "序号 seq",
        "时间 time",
        "服务 service",
        "操作 method",
        "操作人 subject",
        "角色 role",
        "对象 entity",
        "结果 outcome",
    ]);
    for r in &rows {
        table.row(vec![
            match r.chain_seq {
                0 if r.chain_hash.is_empty() => "待封存".into(),
                0 => r.chain_hash.clone(),
                seq => seq.to_string(),
            },
            time(&r.occurred_at),
            r.service.clone(),
            r.method.clone(),
            r.subject.clone(),
            r.role.clone(),
            format!("{} {}", r.entity_type, r.entity_id),
            r.outcome.clone(),
        ]);
    }
    table.print();
    Ok(())
}

/// Every field of a row, for scripts and offline checks.
fn row_json(r: &pb::AuditRow) -> Value {
    json!({
        "id": r.id,
        "occurred_at": r.occurred_at,
        "service": r.service,
        "method": r.method,
        "request_id": r.request_id,
        "subject": r.subject,
        "role": r.role,
        "mof_div_code": r.mof_div_code,
        "entity_type": r.entity_type,
        "entity_id": r.entity_id,
        "outcome": r.outcome,
        "detail": r.detail,
        "row_mac": r.row_mac,
        "chain_seq": r.chain_seq,
        "chain_hash": r.chain_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_service_names_are_completed() {
        assert_eq!(service_name("goal"), "pbm.goal");
        assert_eq!(service_name(" pbm.agency "), "pbm.agency");
    }
}
