import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap } from "@tessera/client";
import { useId } from "react";
import { Empty, ErrorNotice, FactTable, Loading, RoleNote, Section, Success } from "../components/common";
import { formatMoney, formatNumber, formatTime, humanize } from "../format";
import { can, whoMay } from "../permissions";
import { href } from "../router";
import { api } from "../session";
import { useSignedIn } from "../useSession";

export function EnrolmentPage({ campaignId, enrolmentId }: { campaignId: string; enrolmentId: string }) {
  const { claims } = useSignedIn();
  const allowed = can(claims, "manageCampaigns");
  const noteId = useId();
  const queryClient = useQueryClient();
  const path = { campaign_id: campaignId, enrolment_id: enrolmentId };
  const enrolment = useQuery({
    queryKey: ["campaign", campaignId, "enrolment", enrolmentId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/campaigns/{campaign_id}/enrolments/{enrolment_id}", { params: { path } })),
  });
  const retry = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/campaigns/{campaign_id}/enrolments/{enrolment_id}/retry-reward", { params: { path } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["campaign", campaignId] }),
  });
  const e = enrolment.data;
  return (
    <>
      <h1 tabIndex={-1}>Enrolment</h1>
      <p className="muted">
        <a href={href("/campaigns")}>Campaigns</a> / <a href={href(`/campaigns/${campaignId}`)}>{e?.campaign_name ?? "Campaign"}</a> /{" "}
        <code>{enrolmentId}</code>
      </p>
      {enrolment.isPending ? <Loading what="the enrolment" /> : null}
      <ErrorNotice error={enrolment.error} context="Enrolment" />
      {e ? (
        <div className="grid">
          <Section title="Progress">
            <FactTable
              label="Enrolment progress"
              rows={[
                {
                  name: "Member",
                  value: (
                    <a href={href(`/members/${e.member_id}`)}>
                      <code>{e.member_id}</code>
                    </a>
                  ),
                },
                {
                  name: "State",
                  value: `${humanize(e.state)}${e.disqualified_reason ? ` (${humanize(e.disqualified_reason)})` : ""}`,
                  raw: e.state,
                },
                { name: "Loaded instantly", value: formatMoney(e.instant_total, e.currency) },
                { name: "Settled", value: formatMoney(e.settled_total, e.currency) },
                { name: "Counted toward the goal", value: formatMoney(e.cumulative_total, e.currency) },
                { name: "Goal", value: formatMoney(e.target_amount, e.currency) },
                { name: "Still to load", value: formatMoney(e.remaining, e.currency) },
                { name: "Days left", value: formatNumber(e.days_left) },
                { name: "Window ends", value: formatTime(e.window_ends_at) },
                { name: "Grace ends", value: formatTime(e.grace_ends_at) },
                { name: "Reward", value: `${formatNumber(e.reward_points)} points` },
                { name: "Reward paid", value: formatTime(e.reward_paid_at) },
                { name: "Reward attempts", value: formatNumber(e.reward_attempts) },
              ]}
            />
            {e.disqualified_reason === "reward_failed" ? (
              <div className="actions">
                <button
                  type="button"
                  className="primary"
                  disabled={!allowed || retry.isPending}
                  aria-describedby={allowed ? undefined : noteId}
                  onClick={() => retry.mutate()}
                >
                  Retry reward
                </button>
              </div>
            ) : null}
            {e.disqualified_reason === "reward_failed" && !allowed ? (
              <RoleNote id={noteId} who={whoMay("manageCampaigns")} />
            ) : null}
            <ErrorNotice error={retry.error} context="Not retried" />
            {retry.isSuccess ? <Success>The reward waits for its points again.</Success> : null}
          </Section>
          <Section title="Transitions">
            {(e.transitions ?? []).length === 0 ? (
              <Empty>No transitions recorded.</Empty>
            ) : (
              <table aria-label="Enrolment transitions">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">From</th>
                    <th scope="col">To</th>
                    <th scope="col">Cause</th>
                    <th scope="col">By</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {(e.transitions ?? []).map((t, i) => (
                    <tr key={i}>
                      <td>{formatTime(t.at)}</td>
                      <td>{t.from ? humanize(t.from) : "—"}</td>
                      <td>{humanize(t.to)}</td>
                      <td>{humanize(t.cause)}</td>
                      <td>{t.actor ?? "—"}</td>
                      <td>{t.detail ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
        </div>
      ) : null}
    </>
  );
}
