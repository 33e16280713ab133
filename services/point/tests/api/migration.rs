//! A database of the single program from before businesses, migrated: everything lands in the
//! demo business and no balance moves.

use point_service::startup::MIGRATOR;
use sqlx::migrate::Migrator;
use sqlx::PgPool;
use std::borrow::Cow;
use testkit::TestInfra;
use uuid::Uuid;

/// The first migration that knows of businesses.
const BUSINESSES: i64 = 20261207000001;

fn migrator(keep: impl Fn(i64) -> bool) -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            MIGRATOR
                .migrations
                .iter()
                .filter(|m| keep(m.version))
                .cloned()
                .collect(),
        ),
        ignore_missing: true,
        ..Migrator::DEFAULT
    }
}

/// Each member's ledger sum and account balance, and the sum of every entry (zero: double entry).
async fn balances(pool: &PgPool) -> (Vec<(Uuid, i64, i64)>, i64) {
    let members: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT a.member_id, a.balance, coalesce(sum(e.amount), 0)::bigint
           FROM accounts a LEFT JOIN ledger_entries e ON e.member_id = a.member_id
          GROUP BY a.member_id, a.balance ORDER BY a.member_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let total: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(amount), 0)::bigint FROM ledger_entries")
            .fetch_one(pool)
            .await
            .unwrap();
    (members, total)
}

/// Points moved as the service moved them before businesses: a transaction, the member's entry,
/// the program's opposite entry, and the account's cached balance.
async fn post(pool: &PgPool, member: Uuid, kind: &str, points: i64, reference: &str) {
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO point_transactions (id, member_id, kind, points, source, reference_id)
         VALUES ($1, $2, $3, $4, 'purchase', $5)",
    )
    .bind(id)
    .bind(member)
    .bind(kind)
    .bind(points)
    .bind(reference)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO ledger_entries (transaction_id, account, member_id, amount)
         VALUES ($1, 'member', $2, $3), ($1, 'program_liability', NULL, -$3)",
    )
    .bind(id)
    .bind(member)
    .bind(points)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("UPDATE accounts SET balance = balance + $2 WHERE member_id = $1")
        .bind(member)
        .bind(points)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_single_program_moves_into_the_demo_business_with_every_balance_unchanged() {
    let infra = TestInfra::start().await.unwrap();
    let pool = infra.pool("points").await.unwrap();
    migrator(|v| v < BUSINESSES).run(&pool).await.unwrap();

    // Three members' histories under the old schema.
    for (n, moves) in [
        [("earn", 1_250), ("redeem", -400), ("adjust", 35)],
        [("earn", 99), ("earn", 1), ("expire", -100)],
        [
            ("earn", i64::from(i32::MAX)),
            ("reverse", -7),
            ("adjust", -1),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let member = Uuid::now_v7();
        sqlx::query("INSERT INTO accounts (member_id, tier) VALUES ($1, 'BRONZE')")
            .bind(member)
            .execute(&pool)
            .await
            .unwrap();
        for (i, (kind, points)) in moves.into_iter().enumerate() {
            post(&pool, member, kind, points, &format!("order-{n}-{i}")).await;
        }
    }
    let before = balances(&pool).await;
    assert_eq!(before.0.len(), 3);
    assert!(before.0.iter().all(|(_, balance, sum)| balance == sum));
    assert_eq!(before.1, 0);

    migrator(|_| true).run(&pool).await.unwrap();

    assert_eq!(balances(&pool).await, before, "a balance moved");
    for table in [
        "program",
        "tiers",
        "earn_rules",
        "accounts",
        "point_transactions",
    ] {
        let elsewhere: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE business_id <> $1"
        ))
        .bind(kernel::DEMO_BUSINESS_ID)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(elsewhere, 0, "{table} has rows outside the demo business");
    }
    let in_demo: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts WHERE business_id = $1")
        .bind(kernel::DEMO_BUSINESS_ID)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(in_demo, 3);
    pool.close().await;
}
