//! `pbmctl batch …`: admission batches (入库批次).

use clap::Subcommand;
use pbm_proto::agency::v1 as pb;
use serde_json::json;

use crate::client::{Ctx, Outcome, request_id};
use crate::json;
use crate::names::date_arg;
use crate::table::Table;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// 新建入库批次（一次采购及其资格期间）/ Create an admission batch (a procurement and its
    /// qualification period).
    Add {
        /// 批次名称 / Batch name, e.g. 2019—2022年度预算绩效管理中介机构库.
        #[arg(long)]
        name: String,
        /// 采购项目编号 / Procurement reference.
        #[arg(long)]
        procurement_ref: String,
        /// 资格期间起（含）/ First day of the qualification period, YYYY-MM-DD.
        #[arg(long, value_parser = date_arg, value_name = "YYYY-MM-DD")]
        from: String,
        /// 资格期间止（含）/ Last day of the qualification period, YYYY-MM-DD.
        #[arg(long, value_parser = date_arg, value_name = "YYYY-MM-DD")]
        to: String,
    },
    /// 列出入库批次 / List admission batches.
    List,
}

pub async fn run(ctx: &Ctx, command: Command) -> Outcome {
    match command {
        Command::Add {
            name,
            procurement_ref,
            from,
            to,
        } => {
            let batch = ctx
                .api()
                .create_admission_batch(ctx.req(pb::CreateAdmissionBatchRequest {
                    request_id: request_id(),
                    name,
                    procurement_ref,
                    qualified_from: from,
                    qualified_to: to,
                }))
                .await?
                .into_inner()
                .batch
                .unwrap_or_default();
            if ctx.json {
                json::print(&json::message(&batch));
            } else {
                println!(
                    "已新建入库批次 {}「{}」（{} 至 {}）",
                    batch.id, batch.name, batch.qualified_from, batch.qualified_to
                );
            }
        }
        Command::List => {
            let batches = list(ctx).await?;
            if ctx.json {
                json::print(&json!({
                    "batches": batches.iter().map(json::message).collect::<Vec<_>>()
                }));
            } else {
                let mut t =
                    Table::new(&["ID", "批次名称", "采购项目编号", "资格期间起", "资格期间止"]);
                for b in &batches {
                    t.row(vec![
                        b.id.to_string(),
                        b.name.clone(),
                        b.procurement_ref.clone(),
                        b.qualified_from.clone(),
                        b.qualified_to.clone(),
                    ]);
                }
                t.print();
            }
        }
    }
    Ok(())
}

pub async fn list(ctx: &Ctx) -> Outcome<Vec<pb::AdmissionBatch>> {
    Ok(ctx
        .api()
        .list_admission_batches(ctx.req(pb::ListAdmissionBatchesRequest {}))
        .await?
        .into_inner()
        .batches)
}
