import { useInfiniteQuery } from "@tanstack/react-query";
import { unwrap, type Schema } from "@tessera/client";
import { useEffect, useState, type FormEvent } from "react";
import { Empty, ErrorNotice, LoadMore, Loading, Section } from "../components/common";
import { fromLocalInput, humanize, UUID } from "../format";
import { href, navigate, useRoute } from "../router";
import { api } from "../session";
import { ChargeTable } from "./Member";

const STATUSES: Schema<"ChargeStatus">[] = [
  "created",
  "processing",
  "requires_action",
  "succeeded",
  "failed",
  "canceled",
];
const KINDS: Schema<"ChargeKind">[] = ["purchase", "load"];

export function Charges() {
  const { query } = useRoute();
  const filters = {
    status: query.get("status") ?? "",
    kind: query.get("kind") ?? "",
    member: query.get("member") ?? "",
    from: query.get("from") ?? "",
    to: query.get("to") ?? "",
  };
  const [draft, setDraft] = useState(filters);
  // Another address (a member's "all charges" link, the navigation) brings its own filters.
  const signature = query.toString();
  useEffect(() => setDraft(filters), [signature]); // eslint-disable-line react-hooks/exhaustive-deps
  const [invalid, setInvalid] = useState<string | null>(null);

  const charges = useInfiniteQuery({
    queryKey: ["charges", filters],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/payments/charges", {
          params: {
            query: {
              status: filters.status || undefined,
              kind: filters.kind || undefined,
              member_id: filters.member || undefined,
              from: fromLocalInput(filters.from),
              to: fromLocalInput(filters.to),
              cursor: pageParam,
              limit: 25,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

  function apply(event: FormEvent) {
    event.preventDefault();
    if (draft.member && !UUID.test(draft.member.trim())) {
      setInvalid("The member id is not a valid id.");
      return;
    }
    setInvalid(null);
    navigate("/payments", { ...draft, member: draft.member.trim() });
  }

  const items = charges.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <h1 tabIndex={-1}>Payments</h1>
      <p>
        <a href={href("/payments/dead-jobs")}>Dead jobs</a> — PSP work that ran out of attempts.
      </p>
      <Section title="Filter charges">
        <form onSubmit={apply} className="filters" aria-label="Filter charges">
          <label>
            Status
            <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })}>
              <option value="">Any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {humanize(s)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Kind
            <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value })}>
              <option value="">Any</option>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {humanize(k)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Member id
            <input value={draft.member} onChange={(e) => setDraft({ ...draft, member: e.target.value })} />
          </label>
          <label>
            Created from
            <input
              type="datetime-local"
              value={draft.from}
              onChange={(e) => setDraft({ ...draft, from: e.target.value })}
            />
          </label>
          <label>
            Created before
            <input type="datetime-local" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
          </label>
          <div className="actions">
            <button type="submit" className="primary">
              Apply filters
            </button>
            <button
              type="button"
              onClick={() => {
                const none = { status: "", kind: "", member: "", from: "", to: "" };
                setDraft(none);
                navigate("/payments");
              }}
            >
              Clear
            </button>
          </div>
        </form>
        {invalid ? (
          <p role="alert" className="notice notice-error">
            {invalid}
          </p>
        ) : null}
      </Section>
      <Section title="Charges">
        {charges.isPending ? <Loading what="charges" /> : null}
        <ErrorNotice error={charges.error} context="Charges" />
        {charges.data && items.length === 0 ? <Empty>No charges match.</Empty> : null}
        {items.length > 0 ? <ChargeTable charges={items} label="Charges" /> : null}
        <LoadMore
          what="charges"
          hasMore={!!charges.hasNextPage}
          loading={charges.isFetchingNextPage}
          onClick={() => void charges.fetchNextPage()}
        />
      </Section>
    </>
  );
}
