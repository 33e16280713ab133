import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { unwrap, type Schema } from "@tessera/client";
import { useId, useState } from "react";
import {
  ConfirmDialog,
  Empty,
  ErrorNotice,
  FactTable,
  LoadMore,
  Loading,
  RoleNote,
  Section,
  Success,
} from "../components/common";
import { formatMoney, formatNumber, formatTime, humanize, shortId } from "../format";
import { can, whoMay } from "../permissions";
import { href } from "../router";
import { api } from "../session";
import { useSignedIn } from "../useSession";

const STATES: Schema<"EnrolmentState">[] = [
  "enrolled",
  "active",
  "goal_achieved",
  "confirming",
  "pending_reward",
  "completed",
  "disqualified",
];

function seconds(value: number | null | undefined): string {
  if (!value) return "—";
  const days = value / 86_400;
  return days >= 1 ? `${formatNumber(Math.round(days * 10) / 10)} days` : `${formatNumber(Math.round(value / 3600))} hours`;
}

export function CampaignPage({ id }: { id: string }) {
  const { claims } = useSignedIn();
  const allowed = can(claims, "manageCampaigns");
  const noteId = useId();
  const queryClient = useQueryClient();
  const [ending, setEnding] = useState(false);
  const campaign = useQuery({
    queryKey: ["campaign", id],
    queryFn: () => unwrap(api.GET("/api/v1/campaigns/{campaign_id}", { params: { path: { campaign_id: id } } })),
  });
  const publish = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/campaigns/{campaign_id}/publish", { params: { path: { campaign_id: id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["campaign", id] }),
  });
  const end = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/v1/campaigns/{campaign_id}/end", { params: { path: { campaign_id: id } } })),
    onSuccess: async () => {
      setEnding(false);
      await queryClient.invalidateQueries({ queryKey: ["campaign", id] });
    },
  });
  const c = campaign.data;
  return (
    <>
      <h1 tabIndex={-1}>{c ? `Campaign: ${c.name}` : "Campaign"}</h1>
      <p className="muted">
        <a href={href("/campaigns")}>Campaigns</a> / <code>{id}</code>
      </p>
      {campaign.isPending ? <Loading what="the campaign" /> : null}
      <ErrorNotice error={campaign.error} context="Campaign" />
      {c ? (
        <Section title="Details">
          <FactTable
            label="Campaign details"
            rows={[
              { name: "Kind", value: humanize(c.kind) },
              { name: "Status", value: humanize(c.status), raw: c.status },
              { name: "Description", value: c.description ?? "—" },
              { name: "Enrolment opens", value: formatTime(c.enrol_from) },
              { name: "Enrolment closes", value: formatTime(c.enrol_until) },
              { name: "Who may take part", value: humanize(c.eligibility) },
              { name: "Enrolment", value: humanize(c.enrolment) },
              { name: "Goal", value: c.target_amount ? formatMoney(c.target_amount, c.currency) : "—" },
              { name: "Window", value: seconds(c.window_seconds) },
              { name: "Grace", value: seconds(c.grace_seconds) },
              { name: "Reward", value: c.reward_points ? `${formatNumber(c.reward_points)} points` : "—" },
              {
                name: "Referral terms",
                value: c.referral
                  ? `referrer ${formatNumber(c.referral.referrer_points)}, new member ${formatNumber(c.referral.referee_points)} points after a purchase of ${formatMoney(c.referral.min_purchase_amount, c.referral.currency)}`
                  : "—",
              },
              {
                name: "Bonus",
                value: c.bonus ? `×${c.bonus.multiplier_bp / 100}, +${formatNumber(c.bonus.bonus_points)} points` : "—",
              },
              { name: "Published", value: formatTime(c.published_at) },
              { name: "Ended", value: formatTime(c.ended_at) },
            ]}
          />
          <div className="actions">
            {c.status === "draft" ? (
              <button
                type="button"
                className="primary"
                disabled={!allowed || publish.isPending}
                aria-describedby={allowed ? undefined : noteId}
                onClick={() => publish.mutate()}
              >
                Publish
              </button>
            ) : null}
            {c.status === "scheduled" || c.status === "running" ? (
              <button
                type="button"
                className="danger"
                disabled={!allowed}
                aria-describedby={allowed ? undefined : noteId}
                onClick={() => {
                  end.reset();
                  setEnding(true);
                }}
              >
                End campaign…
              </button>
            ) : null}
          </div>
          {!allowed && c.status !== "ended" ? <RoleNote id={noteId} who={whoMay("manageCampaigns")} /> : null}
          <ErrorNotice error={publish.error} context="Not published" />
          {publish.isSuccess ? <Success>Published: it runs from {formatTime(c.enrol_from)}.</Success> : null}
          {end.isSuccess ? <Success>The campaign has ended: no new enrolments.</Success> : null}
        </Section>
      ) : null}
      {c && c.kind === "referral" ? <Referrals campaignId={id} /> : null}
      {c && c.kind === "load_goal" ? <Enrolments campaignId={id} /> : null}
      <ConfirmDialog
        open={ending}
        title="End this campaign now?"
        confirmLabel="End campaign"
        danger
        busy={end.isPending}
        onCancel={() => setEnding(false)}
        onConfirm={() => end.mutate()}
      >
        <p>No new enrolments are taken; enrolments already made run to their end.</p>
        <ErrorNotice error={end.error} context="Not ended" />
      </ConfirmDialog>
    </>
  );
}

function Enrolments({ campaignId }: { campaignId: string }) {
  const [state, setState] = useState<Schema<"EnrolmentState"> | "">("");
  const enrolments = useInfiniteQuery({
    queryKey: ["campaign", campaignId, "enrolments", state],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/campaigns/{campaign_id}/enrolments", {
          params: {
            path: { campaign_id: campaignId },
            query: { state: state || undefined, cursor: pageParam, limit: 50 },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = enrolments.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Section
      title="Enrolments"
      actions={
        <label className="inline">
          State
          <select value={state} onChange={(e) => setState(e.target.value as Schema<"EnrolmentState"> | "")}>
            <option value="">Any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {enrolments.isPending ? <Loading what="enrolments" /> : null}
      <ErrorNotice error={enrolments.error} context="Enrolments" />
      {enrolments.data && items.length === 0 ? <Empty>No enrolments.</Empty> : null}
      {items.length > 0 ? (
        <table aria-label="Enrolments">
          <thead>
            <tr>
              <th scope="col">Enrolment</th>
              <th scope="col">Member</th>
              <th scope="col">State</th>
              <th scope="col">Enrolled</th>
              <th scope="col">Window ends</th>
              <th scope="col">Reward paid</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.enrolment_id}>
                <th scope="row">
                  <a href={href(`/campaigns/${campaignId}/enrolments/${e.enrolment_id}`)} aria-label={`Enrolment ${e.enrolment_id}`}>
                    <code>{shortId(e.enrolment_id)}</code>
                  </a>
                </th>
                <td>
                  <a href={href(`/members/${e.member_id}`)} aria-label={`Member ${e.member_id}`}>
                    <code>{shortId(e.member_id)}</code>
                  </a>
                </td>
                <td>
                  {humanize(e.state)}
                  {e.disqualified_reason ? ` (${humanize(e.disqualified_reason)})` : ""}
                </td>
                <td>{formatTime(e.enrolled_at)}</td>
                <td>{formatTime(e.window_ends_at)}</td>
                <td>{formatTime(e.reward_paid_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <LoadMore
        what="enrolments"
        hasMore={!!enrolments.hasNextPage}
        loading={enrolments.isFetchingNextPage}
        onClick={() => void enrolments.fetchNextPage()}
      />
    </Section>
  );
}

function Referrals({ campaignId }: { campaignId: string }) {
  const { claims } = useSignedIn();
  const allowed = can(claims, "manageCampaigns");
  const queryClient = useQueryClient();
  const referrals = useInfiniteQuery({
    queryKey: ["campaign", campaignId, "referrals"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/campaigns/{campaign_id}/referrals", {
          params: { path: { campaign_id: campaignId }, query: { cursor: pageParam, limit: 50 } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const retry = useMutation({
    mutationFn: (referralId: string) =>
      unwrap(
        api.POST("/api/v1/campaigns/{campaign_id}/referrals/{referral_id}/retry-reward", {
          params: { path: { campaign_id: campaignId, referral_id: referralId } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["campaign", campaignId, "referrals"] }),
  });
  const items = referrals.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Section title="Referrals">
      {referrals.isPending ? <Loading what="referrals" /> : null}
      <ErrorNotice error={referrals.error} context="Referrals" />
      <ErrorNotice error={retry.error} context="Not retried" />
      {retry.isSuccess ? <Success>The reward is being paid again.</Success> : null}
      {referrals.data && items.length === 0 ? <Empty>No referrals.</Empty> : null}
      {items.length > 0 ? (
        <table aria-label="Referrals">
          <thead>
            <tr>
              <th scope="col">Referrer</th>
              <th scope="col">New member</th>
              <th scope="col">State</th>
              <th scope="col">Claimed</th>
              <th scope="col">Purchase by</th>
              <th scope="col">Settles</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.referral_id}>
                <td>
                  <a href={href(`/members/${r.referrer_id}`)} aria-label={`Member ${r.referrer_id}`}>
                    <code>{shortId(r.referrer_id)}</code>
                  </a>
                </td>
                <td>
                  <a href={href(`/members/${r.referee_id}`)} aria-label={`Member ${r.referee_id}`}>
                    <code>{shortId(r.referee_id)}</code>
                  </a>
                </td>
                <td>{humanize(r.state)}</td>
                <td>{formatTime(r.claimed_at)}</td>
                <td>{formatTime(r.purchase_by)}</td>
                <td>{formatTime(r.settles_at)}</td>
                <td>
                  {r.state === "reward_failed" ? (
                    <button
                      type="button"
                      disabled={!allowed || retry.isPending}
                      aria-label={`Retry the reward of referral ${r.referral_id}`}
                      onClick={() => retry.mutate(r.referral_id)}
                    >
                      Retry reward
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <LoadMore
        what="referrals"
        hasMore={!!referrals.hasNextPage}
        loading={referrals.isFetchingNextPage}
        onClick={() => void referrals.fetchNextPage()}
      />
    </Section>
  );
}
