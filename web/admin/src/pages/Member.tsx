import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { TesseraApiError, unwrap, type Schema } from "@tessera/client";
import { useId, useState, type FormEvent } from "react";
import {
  ConfirmDialog,
  Empty,
  ErrorNotice,
  FactTable,
  Figure,
  LoadMore,
  Loading,
  RoleNote,
  Section,
  Success,
  useIdempotencyKey,
} from "../components/common";
import {
  formatMoney,
  formatNumber,
  formatTime,
  fromLocalInput,
  humanize,
  shortId,
  signedPoints,
  UUID,
} from "../format";
import { businessOf, can, ROLE_NAMES, whoMay } from "../permissions";
import { href } from "../router";
import { api } from "../session";
import { useSignedIn } from "../useSession";

const TRANSACTION_TYPES = [
  "earn",
  "earn_pending",
  "activate",
  "cancel_pending",
  "redeem",
  "reverse",
  "expire",
  "adjust",
];

/** A 404 read as "nothing known", any other failure thrown. */
async function orNull<T>(answer: Promise<T>): Promise<T | null> {
  try {
    return await answer;
  } catch (error) {
    if (error instanceof TesseraApiError && error.status === 404) return null;
    throw error;
  }
}

export function MemberPage({ id }: { id: string }) {
  if (!UUID.test(id)) {
    return (
      <>
        <h1 tabIndex={-1}>Member</h1>
        <p role="alert" className="notice notice-error">
          “{id}” is not a member id.
        </p>
      </>
    );
  }
  return <Member id={id} />;
}

function Member({ id }: { id: string }) {
  const user = useQuery({
    queryKey: ["member", id, "profile"],
    queryFn: () => unwrap(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: id } } })),
  });
  const name = user.data ? `${user.data.first_name} ${user.data.last_name}`.trim() : null;

  return (
    <>
      <h1 tabIndex={-1}>{name ? `Member: ${name}` : "Member"}</h1>
      <p className="muted">
        Member id <code>{id}</code>
      </p>
      <div className="grid">
        <Section title="Profile">
          {user.isPending ? <Loading what="the profile" /> : null}
          <ErrorNotice error={user.error} context="Profile" />
          {user.data ? <Profile user={user.data} /> : null}
        </Section>
        <Activity id={id} />
      </div>
      <div className="grid">
        <Balance id={id} />
        <div className="stack">
          <AdjustPoints id={id} />
          <TierOverride id={id} />
        </div>
      </div>
      <History id={id} />
      <MemberCharges id={id} />
      <div className="grid">
        <Withdrawals id={id} />
        <StampCards id={id} />
      </div>
      <Erase id={id} name={name} />
    </>
  );
}

function Profile({ user }: { user: Schema<"UserView"> }) {
  return (
    <FactTable
      label="Profile"
      rows={[
        { name: "Name", value: `${user.first_name} ${user.last_name}` },
        { name: "Email", value: user.email },
        { name: "Email confirmed", value: user.email_verified ? "Yes" : "No" },
        { name: "Phone", value: user.phone_number ?? "—" },
        { name: "Phone confirmed", value: user.phone_verified ? "Yes" : "No" },
        { name: "Role", value: ROLE_NAMES[user.role] ?? user.role },
        { name: "Marketing consent", value: user.marketing_consent ? "Given" : "Not given" },
      ]}
    />
  );
}

function Activity({ id }: { id: string }) {
  const activity = useQuery({
    queryKey: ["member", id, "activity"],
    queryFn: () =>
      orNull(unwrap(api.GET("/api/v1/admin/members/{member_id}", { params: { path: { member_id: id } } }))),
  });
  return (
    <Section title="Activity">
      {activity.isPending ? <Loading what="activity" /> : null}
      <ErrorNotice error={activity.error} context="Activity" />
      {activity.data === null ? <Empty>No activity recorded for this member yet.</Empty> : null}
      {activity.data ? (
        <FactTable
          label="Activity"
          rows={[
            { name: "Registered", value: formatTime(activity.data.registered_at) },
            {
              name: "Charges succeeded",
              value: formatNumber(activity.data.charges_succeeded),
              raw: activity.data.charges_succeeded,
            },
            {
              name: "Spent",
              value:
                activity.data.charge_volume.length === 0
                  ? "—"
                  : activity.data.charge_volume.map((v) => formatMoney(v.amount, v.currency)).join(", "),
            },
            {
              name: "Points earned",
              value: formatNumber(activity.data.points_earned_total),
              raw: activity.data.points_earned_total,
            },
            { name: "Times earned", value: formatNumber(activity.data.points_events), raw: activity.data.points_events },
            { name: "Last event", value: formatTime(activity.data.last_event_at) },
          ]}
        />
      ) : null}
    </Section>
  );
}

function useBalance(id: string) {
  return useQuery({
    queryKey: ["member", id, "balance"],
    queryFn: () =>
      orNull(unwrap(api.GET("/api/v1/points/{user_id}/balance", { params: { path: { user_id: id } } }))),
  });
}

function Balance({ id }: { id: string }) {
  const { claims } = useSignedIn();
  const balance = useBalance(id);
  // The program's currency, for spend figures (its settings are for admins).
  const program = useQuery({
    queryKey: ["points", "program"],
    enabled: can(claims, "overrideTier"),
    queryFn: () => unwrap(api.GET("/api/v1/points/program")),
  });
  const spend = (minor: number) =>
    program.data ? formatMoney(minor, program.data.currency) : `${formatNumber(minor)} (minor units)`;
  const b = balance.data;
  return (
    <Section title="Points">
      {balance.isPending ? <Loading what="the balance" /> : null}
      <ErrorNotice error={balance.error} context="Balance" />
      {b === null ? <Empty>This member has no points account.</Empty> : null}
      {b ? (
        <FactTable
          label="Points balance"
          rows={[
            { name: "Total points", value: formatNumber(b.total_points), raw: b.total_points },
            { name: "Available", value: formatNumber(b.available_points), raw: b.available_points },
            { name: "Pending", value: formatNumber(b.pending_points), raw: b.pending_points },
            { name: "On hold", value: formatNumber(b.on_hold_points), raw: b.on_hold_points },
            {
              name: "Expiring within 30 days",
              value: formatNumber(b.expiring_within_30_days),
              raw: b.expiring_within_30_days,
            },
            { name: "Lifetime", value: formatNumber(b.lifetime_points), raw: b.lifetime_points },
            { name: "Tier", value: `${b.tier} (×${b.tier_multiplier})`, raw: b.tier },
            {
              name: "Next tier",
              value: b.next_tier ? `${b.next_tier.tier}: spend ${spend(b.next_tier.spend_needed)} more` : "Top tier",
            },
            { name: "Qualifying spend (12 months)", value: spend(b.qualifying_spend), raw: b.qualifying_spend },
            { name: "Tier period ends", value: formatTime(b.tier_period_ends_at) },
            {
              name: "Tier override",
              value: b.tier_override_reason
                ? `${b.tier_override_reason} (until ${formatTime(b.tier_override_expires_at)})`
                : "None",
            },
          ]}
        />
      ) : null}
    </Section>
  );
}

function AdjustPoints({ id }: { id: string }) {
  const { claims } = useSignedIn();
  const queryClient = useQueryClient();
  const allowed = can(claims, "adjustPoints");
  const noteId = useId();
  const [points, setPoints] = useState("");
  const [reason, setReason] = useState("");
  const [key, renewKey] = useIdempotencyKey();
  const adjust = useMutation({
    mutationFn: (body: Schema<"AdjustBody">) =>
      unwrap(
        api.POST("/api/v1/points/{user_id}/adjustments", {
          params: { path: { user_id: id }, header: { "Idempotency-Key": key } },
          body,
        }),
      ),
    onSuccess: async () => {
      renewKey();
      setPoints("");
      setReason("");
      await queryClient.invalidateQueries({ queryKey: ["member", id] });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    adjust.mutate({ points: Number(points), reason: reason.trim() });
  }

  function edit(update: () => void) {
    update();
    // Another adjustment than the one tried: it gets its own key.
    renewKey();
    if (adjust.isError || adjust.isSuccess) adjust.reset();
  }

  return (
    <Section title="Adjust points">
      <form onSubmit={submit} className="stack" aria-label="Adjust points">
        <label>
          Points
          <input
            type="number"
            inputMode="numeric"
            step={1}
            required
            disabled={!allowed}
            value={points}
            onChange={(e) => edit(() => setPoints(e.target.value))}
            aria-describedby={`${noteId}-points`}
          />
        </label>
        <p id={`${noteId}-points`} className="muted">
          Positive to credit, negative to debit.
        </p>
        <label>
          Reason
          <textarea
            required
            rows={2}
            disabled={!allowed}
            value={reason}
            onChange={(e) => edit(() => setReason(e.target.value))}
          />
        </label>
        <div className="actions">
          <button
            type="submit"
            className="primary"
            disabled={!allowed || adjust.isPending || !points || !reason.trim()}
            aria-describedby={allowed ? undefined : noteId}
          >
            {adjust.isPending ? "Adjusting…" : "Adjust points"}
          </button>
        </div>
        {!allowed ? <RoleNote id={noteId} who={whoMay("adjustPoints")} /> : null}
      </form>
      <ErrorNotice error={adjust.error} context="Not adjusted" />
      {adjust.data ? (
        <Success>
          Adjusted by {signedPoints(adjust.data.points)} points ({adjust.data.description ?? "adjustment"}).
        </Success>
      ) : null}
    </Section>
  );
}

function inDays(days: number): string {
  const date = new Date(Date.now() + days * 86_400_000);
  date.setSeconds(0, 0);
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function TierOverride({ id }: { id: string }) {
  const { claims } = useSignedIn();
  const queryClient = useQueryClient();
  const allowed = can(claims, "overrideTier");
  const noteId = useId();
  const balance = useBalance(id);
  const [tier, setTier] = useState("");
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState(() => inDays(30));
  const save = useMutation({
    mutationFn: async (body: Schema<"TierOverrideBody">) => {
      await unwrap(
        api.PUT("/api/v1/points/{user_id}/tier-override", {
          params: { path: { user_id: id } },
          body,
        }),
      );
      return body;
    },
    onSuccess: async () => {
      setReason("");
      await queryClient.invalidateQueries({ queryKey: ["member", id] });
    },
  });
  const tiers = [
    ...new Set([...(balance.data?.tiers_reached ?? []), ...(balance.data?.next_tier ? [balance.data.next_tier.tier] : [])]),
  ];
  const inForce = !!balance.data?.tier_override_reason;

  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate({ tier: tier.trim(), reason: reason.trim(), expires_at: fromLocalInput(expires) ?? null });
  }

  return (
    <Section title="Tier override">
      <form onSubmit={submit} className="stack" aria-label="Tier override">
        <label>
          Tier
          <input
            list={`${noteId}-tiers`}
            required
            disabled={!allowed}
            value={tier}
            onChange={(e) => setTier(e.target.value)}
          />
          <datalist id={`${noteId}-tiers`}>
            {tiers.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </label>
        <label>
          Override reason
          <input required disabled={!allowed} value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
        <label>
          Until
          <input
            type="datetime-local"
            required
            disabled={!allowed}
            value={expires}
            onChange={(e) => setExpires(e.target.value)}
          />
        </label>
        <div className="actions">
          <button
            type="submit"
            className="primary"
            disabled={!allowed || save.isPending}
            aria-describedby={allowed ? undefined : noteId}
          >
            Override tier
          </button>
          {inForce ? (
            <button
              type="button"
              disabled={!allowed || save.isPending}
              onClick={() => save.mutate({ tier: null, reason: null, expires_at: null })}
            >
              End override
            </button>
          ) : null}
        </div>
        {!allowed ? <RoleNote id={noteId} who={whoMay("overrideTier")} /> : null}
      </form>
      <ErrorNotice error={save.error} context="Tier not changed" />
      {save.data ? (
        <Success>{save.data.tier ? `The member holds ${save.data.tier}.` : "The override has ended."}</Success>
      ) : null}
    </Section>
  );
}

function History({ id }: { id: string }) {
  const [type, setType] = useState("");
  const history = useInfiniteQuery({
    queryKey: ["member", id, "transactions", type],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/points/{user_id}/transactions", {
          params: {
            path: { user_id: id },
            query: { type: type || undefined, cursor: pageParam, limit: 20 },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = history.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Section
      title="Points history"
      actions={
        <label className="inline">
          Type
          <select value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">All</option>
            {TRANSACTION_TYPES.map((t) => (
              <option key={t} value={t}>
                {humanize(t)}
              </option>
            ))}
          </select>
        </label>
      }
    >
      {history.isPending ? <Loading what="the history" /> : null}
      <ErrorNotice error={history.error} context="History" />
      {history.data && items.length === 0 ? <Empty>No transactions.</Empty> : null}
      {items.length > 0 ? (
        <table aria-label="Points history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Type</th>
              <th scope="col">Points</th>
              <th scope="col">Source</th>
              <th scope="col">Description</th>
              <th scope="col">Amount</th>
              <th scope="col">Reference</th>
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <tr key={t.id}>
                <td>{formatTime(t.occurred_at ?? t.created_at)}</td>
                <td>{humanize(t.type)}</td>
                <td className="num">
                  <Figure value={t.points}>{signedPoints(t.points)}</Figure>
                </td>
                <td>{t.source}</td>
                <td>{t.description ?? "—"}</td>
                <td>{t.amount !== null && t.amount !== undefined ? formatMoney(t.amount, t.currency) : "—"}</td>
                <td>
                  <code title={t.reference_id}>{shortId(t.reference_id)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <LoadMore
        what="transactions"
        hasMore={!!history.hasNextPage}
        loading={history.isFetchingNextPage}
        onClick={() => void history.fetchNextPage()}
      />
    </Section>
  );
}

function MemberCharges({ id }: { id: string }) {
  const charges = useQuery({
    queryKey: ["member", id, "charges"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/payments/charges", { params: { query: { member_id: id, limit: 20 } } })),
  });
  return (
    <Section
      title="Charges"
      actions={
        <a href={href("/payments", { member: id })} className="button">
          All of this member's charges
        </a>
      }
    >
      {charges.isPending ? <Loading what="charges" /> : null}
      <ErrorNotice error={charges.error} context="Charges" />
      {charges.data && charges.data.items.length === 0 ? <Empty>No charges.</Empty> : null}
      {charges.data && charges.data.items.length > 0 ? <ChargeTable charges={charges.data.items} label="Member's charges" /> : null}
    </Section>
  );
}

export function ChargeTable({ charges, label }: { charges: Schema<"ChargeView">[]; label: string }) {
  return (
    <table aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Created</th>
          <th scope="col">Charge</th>
          <th scope="col">Member</th>
          <th scope="col">Amount</th>
          <th scope="col">Refunded</th>
          <th scope="col">Status</th>
          <th scope="col">Kind</th>
          <th scope="col">PSP</th>
        </tr>
      </thead>
      <tbody>
        {charges.map((c) => (
          <tr key={c.id}>
            <td>{formatTime(c.created_at)}</td>
            <td>
              <a href={href(`/payments/charges/${c.id}`)} aria-label={`Charge ${c.id}`}>
                <code>{shortId(c.id)}</code>
              </a>
            </td>
            <td>
              <a href={href(`/members/${c.member_id}`)} aria-label={`Member ${c.member_id}`}>
                <code>{shortId(c.member_id)}</code>
              </a>
            </td>
            <td className="num">{formatMoney(c.amount, c.currency)}</td>
            <td className="num">{c.amount_refunded > 0 ? formatMoney(c.amount_refunded, c.currency) : "—"}</td>
            <td>
              <span className={`status status-${c.status}`}>{humanize(c.status)}</span>
            </td>
            <td>{humanize(c.kind)}</td>
            <td>{c.psp}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Withdrawals({ id }: { id: string }) {
  const withdrawals = useQuery({
    queryKey: ["member", id, "withdrawals"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/payments/withdrawals", { params: { query: { member_id: id, limit: 20 } } })),
  });
  return (
    <Section title="Withdrawals">
      {withdrawals.isPending ? <Loading what="withdrawals" /> : null}
      <ErrorNotice error={withdrawals.error} context="Withdrawals" />
      {withdrawals.data && withdrawals.data.items.length === 0 ? <Empty>No withdrawals.</Empty> : null}
      {withdrawals.data && withdrawals.data.items.length > 0 ? (
        <table aria-label="Withdrawals">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Amount</th>
              <th scope="col">Reference</th>
            </tr>
          </thead>
          <tbody>
            {withdrawals.data.items.map((w) => (
              <tr key={w.id}>
                <td>{formatTime(w.created_at)}</td>
                <td className="num">{formatMoney(w.amount, w.currency)}</td>
                <td>{w.reference ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

function StampCards({ id }: { id: string }) {
  const { claims } = useSignedIn();
  const business = businessOf(claims);
  const cards = useQuery({
    queryKey: ["member", id, "stamp-cards", business],
    queryFn: () =>
      orNull(
        unwrap(
          api.GET("/api/v1/points/businesses/{business_id}/members/{member_id}/stamp-cards", {
            params: { path: { business_id: business, member_id: id } },
          }),
        ),
      ),
  });
  return (
    <Section title="Stamp cards">
      {cards.isPending ? <Loading what="stamp cards" /> : null}
      <ErrorNotice error={cards.error} context="Stamp cards" />
      {cards.data === null || (cards.data && cards.data.length === 0) ? (
        <Empty>No stamp cards at this business.</Empty>
      ) : null}
      {cards.data && cards.data.length > 0 ? (
        <table aria-label="Stamp cards">
          <thead>
            <tr>
              <th scope="col">Program</th>
              <th scope="col">Stamps</th>
              <th scope="col">Rewards given</th>
              <th scope="col">Stamps lapse</th>
            </tr>
          </thead>
          <tbody>
            {cards.data.map((c) => (
              <tr key={c.program_id}>
                <th scope="row">{c.program_name}</th>
                <td className="num">
                  {c.stamps} / {c.stamps_required}
                </td>
                <td className="num">{c.rewards_issued}</td>
                <td>{formatTime(c.stamps_expire_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

function Erase({ id, name }: { id: string; name: string | null }) {
  const { claims } = useSignedIn();
  const queryClient = useQueryClient();
  const allowed = can(claims, "eraseMember");
  const noteId = useId();
  const [open, setOpen] = useState(false);
  const [confirmed, setConfirmed] = useState(false);
  const erase = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: id } } })),
    onSuccess: async () => {
      setOpen(false);
      await queryClient.invalidateQueries({ queryKey: ["member", id] });
    },
  });
  return (
    <Section title="Erase member">
      <p>
        Erasing removes the member's personal data from every service (a request received by support,
        or a legal obligation). It cannot be undone.
      </p>
      {erase.isSuccess ? (
        <Success>
          The member was erased. <a href={href("/members")}>Find another member</a>
        </Success>
      ) : (
        <div className="actions">
          <button
            type="button"
            className="danger"
            disabled={!allowed}
            aria-describedby={allowed ? undefined : noteId}
            onClick={() => {
              setConfirmed(false);
              erase.reset();
              setOpen(true);
            }}
          >
            Erase member…
          </button>
        </div>
      )}
      {!allowed ? <RoleNote id={noteId} who={whoMay("eraseMember")} /> : null}
      <ConfirmDialog
        open={open}
        title={`Erase ${name ?? "this member"}?`}
        confirmLabel="Erase member"
        danger
        busy={erase.isPending}
        confirmDisabled={!confirmed}
        onCancel={() => setOpen(false)}
        onConfirm={() => erase.mutate()}
      >
        <p>
          Member <code>{id}</code>. Their profile, contact details and sessions are deleted here, and every
          other service anonymises what it holds.
        </p>
        <label className="option">
          <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
          I have a request from the member or a legal obligation to erase this account
        </label>
        <ErrorNotice error={erase.error} context="Not erased" />
      </ConfirmDialog>
    </Section>
  );
}
