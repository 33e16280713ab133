import { useInfiniteQuery } from "@tanstack/react-query";
import { unwrap } from "@tessera/client";
import { Empty, ErrorNotice, LoadMore, Loading, Section } from "../components/common";
import { formatMoney, formatNumber, formatTime, humanize } from "../format";
import { href } from "../router";
import { api } from "../session";

export function Campaigns() {
  const campaigns = useInfiniteQuery({
    queryKey: ["campaigns"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/campaigns", { params: { query: { cursor: pageParam, limit: 50 } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = campaigns.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <h1 tabIndex={-1}>Campaigns</h1>
      <Section title="Campaigns">
        {campaigns.isPending ? <Loading what="campaigns" /> : null}
        <ErrorNotice error={campaigns.error} context="Campaigns" />
        {campaigns.data && items.length === 0 ? <Empty>No campaigns.</Empty> : null}
        {items.length > 0 ? (
          <table aria-label="Campaigns">
            <thead>
              <tr>
                <th scope="col">Campaign</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Enrolment</th>
                <th scope="col">Goal</th>
                <th scope="col">Reward</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id}>
                  <th scope="row">
                    <a href={href(`/campaigns/${c.id}`)}>{c.name}</a>
                  </th>
                  <td>{humanize(c.kind)}</td>
                  <td>{humanize(c.status)}</td>
                  <td>
                    {formatTime(c.enrol_from)} – {formatTime(c.enrol_until)}
                  </td>
                  <td>{c.target_amount ? formatMoney(c.target_amount, c.currency) : "—"}</td>
                  <td>
                    {c.reward_points
                      ? `${formatNumber(c.reward_points)} points`
                      : c.referral
                        ? `${formatNumber(c.referral.referrer_points)} / ${formatNumber(c.referral.referee_points)} points`
                        : c.bonus
                          ? `×${c.bonus.multiplier_bp / 100} +${formatNumber(c.bonus.bonus_points)}`
                          : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <LoadMore
          what="campaigns"
          hasMore={!!campaigns.hasNextPage}
          loading={campaigns.isFetchingNextPage}
          onClick={() => void campaigns.fetchNextPage()}
        />
      </Section>
    </>
  );
}
