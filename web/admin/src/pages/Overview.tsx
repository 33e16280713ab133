import { useQuery } from "@tanstack/react-query";
import { unwrap } from "@tessera/client";
import { useState } from "react";
import { BarChart, LineChart, lastDays } from "../components/charts";
import { Empty, ErrorNotice, FactTable, Figure, Loading, Section } from "../components/common";
import { formatNumber } from "../format";
import { api } from "../session";

const PERIODS = [7, 30, 90, 365];

export function Overview() {
  const [days, setDays] = useState(30);
  const stats = useQuery({
    queryKey: ["admin", "stats"],
    queryFn: () => unwrap(api.GET("/api/v1/admin/stats")),
  });
  const rewards = useQuery({
    queryKey: ["admin", "reward-stats", days],
    queryFn: () =>
      unwrap(api.GET("/api/v1/admin/rewards/stats", { params: { query: { days, top: 10 } } })),
  });
  const liability = useQuery({
    queryKey: ["points", "liability"],
    queryFn: () => unwrap(api.GET("/api/v1/points/liability")),
  });

  const range = lastDays(days);
  const byDay = new Map((rewards.data?.per_day ?? []).map((d) => [d.day, d]));

  return (
    <>
      <h1 tabIndex={-1}>Overview</h1>

      <Section title="Program totals">
        {stats.isPending ? <Loading what="program totals" /> : null}
        <ErrorNotice error={stats.error} context="Program totals" />
        {stats.data ? (
          <div className="split">
            <FactTable
              label="Program totals"
              rows={[
                { name: "Members", value: formatNumber(stats.data.members), raw: stats.data.members },
                {
                  name: "Points earned",
                  value: formatNumber(stats.data.points_earned_total),
                  raw: stats.data.points_earned_total,
                },
                {
                  name: "Charges succeeded",
                  value: formatNumber(stats.data.charges_succeeded),
                  raw: stats.data.charges_succeeded,
                },
              ]}
            />
            <BarChart
              title="Program totals"
              bars={[
                { label: "Members", value: stats.data.members },
                { label: "Points earned", value: stats.data.points_earned_total },
                { label: "Charges succeeded", value: stats.data.charges_succeeded },
              ]}
            />
          </div>
        ) : null}
      </Section>

      <Section
        title="Redemptions"
        actions={
          <label className="inline">
            Period
            <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
              {PERIODS.map((p) => (
                <option key={p} value={p}>
                  Last {p} days
                </option>
              ))}
            </select>
          </label>
        }
      >
        {rewards.isPending ? <Loading what="redemption figures" /> : null}
        <ErrorNotice error={rewards.error} context="Redemptions" />
        {rewards.data ? (
          <>
            <LineChart
              title="Redemptions per day"
              days={range}
              series={[
                { name: "Redeemed", values: range.map((d) => byDay.get(d)?.redeemed ?? 0), className: "s1" },
                { name: "Used", values: range.map((d) => byDay.get(d)?.used ?? 0), className: "s2" },
                { name: "Cancelled", values: range.map((d) => byDay.get(d)?.cancelled ?? 0), className: "s3" },
              ]}
            />
            <h3>Redemptions per day</h3>
            {rewards.data.per_day.length === 0 ? (
              <Empty>No redemptions in the last {rewards.data.days} days.</Empty>
            ) : (
              <table aria-label="Redemptions per day">
                <thead>
                  <tr>
                    <th scope="col">Day</th>
                    <th scope="col">Redeemed</th>
                    <th scope="col">Used</th>
                    <th scope="col">Cancelled</th>
                  </tr>
                </thead>
                <tbody>
                  {rewards.data.per_day.map((d) => (
                    <tr key={d.day}>
                      <th scope="row">{d.day}</th>
                      <td><Figure value={d.redeemed}>{formatNumber(d.redeemed)}</Figure></td>
                      <td><Figure value={d.used}>{formatNumber(d.used)}</Figure></td>
                      <td><Figure value={d.cancelled}>{formatNumber(d.cancelled)}</Figure></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}

            <h3>Top rewards</h3>
            <BarChart
              title="Top rewards by redemptions"
              bars={rewards.data.top_rewards.map((t) => ({ label: t.reward_name, value: t.redeemed }))}
            />
            {rewards.data.top_rewards.length === 0 ? (
              <Empty>No reward has been redeemed in this period.</Empty>
            ) : (
              <table aria-label="Top rewards">
                <thead>
                  <tr>
                    <th scope="col">Reward</th>
                    <th scope="col">Redeemed</th>
                    <th scope="col">Used</th>
                    <th scope="col">Cancelled</th>
                    <th scope="col">Points spent</th>
                  </tr>
                </thead>
                <tbody>
                  {rewards.data.top_rewards.map((t) => (
                    <tr key={t.reward_id} data-reward-id={t.reward_id}>
                      <th scope="row">{t.reward_name}</th>
                      <td><Figure value={t.redeemed}>{formatNumber(t.redeemed)}</Figure></td>
                      <td><Figure value={t.used}>{formatNumber(t.used)}</Figure></td>
                      <td><Figure value={t.cancelled}>{formatNumber(t.cancelled)}</Figure></td>
                      <td><Figure value={t.points}>{formatNumber(t.points)}</Figure></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        ) : null}
      </Section>

      <Section title="Points owed">
        {liability.isPending ? <Loading what="points owed" /> : null}
        <ErrorNotice error={liability.error} context="Points owed" />
        {liability.data ? (
          <div className="split">
            <FactTable
              label="Points owed"
              rows={[
                { name: "Member accounts", value: formatNumber(liability.data.members), raw: liability.data.members },
                { name: "Active points", value: formatNumber(liability.data.active_points), raw: liability.data.active_points },
                { name: "Pending points", value: formatNumber(liability.data.pending_points), raw: liability.data.pending_points },
                { name: "Held points", value: formatNumber(liability.data.held_points), raw: liability.data.held_points },
              ]}
            />
            <BarChart
              title="Points owed"
              bars={[
                { label: "Active", value: liability.data.active_points },
                { label: "Pending", value: liability.data.pending_points },
                { label: "Held", value: liability.data.held_points },
              ]}
            />
          </div>
        ) : null}
      </Section>
    </>
  );
}
