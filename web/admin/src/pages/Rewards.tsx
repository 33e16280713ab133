import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { unwrap, type Schema } from "@tessera/client";
import { useId, useState, type FormEvent } from "react";
import {
  ConfirmDialog,
  Empty,
  ErrorNotice,
  LoadMore,
  Loading,
  RoleNote,
  Section,
  Success,
  useIdempotencyKey,
} from "../components/common";
import { formatNumber, formatTime, humanize, UUID } from "../format";
import { can, whoMay } from "../permissions";
import { navigate } from "../router";
import { api } from "../session";
import { useSignedIn } from "../useSession";

type Reward = Schema<"RewardView">;

export function Rewards() {
  const { claims } = useSignedIn();
  const manager = can(claims, "manageCatalog");
  const [archived, setArchived] = useState(false);
  const [archiving, setArchiving] = useState<Reward | null>(null);
  const queryClient = useQueryClient();
  const catalog = useInfiniteQuery({
    queryKey: ["rewards", { archived }],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/rewards", {
          params: { query: { include_archived: archived || undefined, cursor: pageParam, limit: 50 } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const archive = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.POST("/api/v1/rewards/{reward_id}/archive", { params: { path: { reward_id: id } } })),
    onSuccess: async () => {
      setArchiving(null);
      await queryClient.invalidateQueries({ queryKey: ["rewards"] });
    },
  });
  const items = catalog.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <>
      <h1 tabIndex={-1}>Rewards</h1>
      <Section
        title="Catalog"
        actions={
          manager ? (
            <label className="option">
              <input type="checkbox" checked={archived} onChange={(e) => setArchived(e.target.checked)} />
              Show archived rewards
            </label>
          ) : null
        }
      >
        {catalog.isPending ? <Loading what="the catalog" /> : null}
        <ErrorNotice error={catalog.error} context="Catalog" />
        {archive.isSuccess ? <Success>{archive.data.name} was archived.</Success> : null}
        {catalog.data && items.length === 0 ? <Empty>The catalog is empty.</Empty> : null}
        {items.length > 0 ? (
          <table aria-label="Reward catalog">
            <thead>
              <tr>
                <th scope="col">Reward</th>
                <th scope="col">Category</th>
                <th scope="col">Points</th>
                <th scope="col">Stock</th>
                <th scope="col">Lowest tier</th>
                <th scope="col">Fulfilment</th>
                <th scope="col">Valid</th>
                <th scope="col">Status</th>
                {manager ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id}>
                  <th scope="row">{r.name}</th>
                  <td>{r.category ?? "—"}</td>
                  <td className="num">{formatNumber(r.points_cost)}</td>
                  <td className="num">{r.inventory === null || r.inventory === undefined ? "Unlimited" : formatNumber(r.inventory)}</td>
                  <td>{r.min_tier ?? "Every tier"}</td>
                  <td>{humanize(r.fulfilment)}</td>
                  <td>
                    {r.valid_from || r.valid_until
                      ? `${formatTime(r.valid_from)} – ${formatTime(r.valid_until)}`
                      : "Always"}
                  </td>
                  <td>{r.active ? (r.available ? "Active" : "Out of stock") : `Archived ${formatTime(r.archived_at)}`}</td>
                  {manager ? (
                    <td>
                      {r.active ? (
                        <button
                          type="button"
                          aria-label={`Archive ${r.name}`}
                          onClick={() => {
                            archive.reset();
                            setArchiving(r);
                          }}
                        >
                          Archive
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <LoadMore
          what="rewards"
          hasMore={!!catalog.hasNextPage}
          loading={catalog.isFetchingNextPage}
          onClick={() => void catalog.fetchNextPage()}
        />
      </Section>
      <div className="grid">
        <NewReward />
        <FindRedemption />
      </div>
      <ConfirmDialog
        open={!!archiving}
        title={`Archive ${archiving?.name ?? ""}?`}
        confirmLabel="Archive reward"
        busy={archive.isPending}
        onCancel={() => setArchiving(null)}
        onConfirm={() => archiving && archive.mutate(archiving.id)}
      >
        <p>The reward leaves the catalog. Codes already issued stay usable.</p>
        <ErrorNotice error={archive.error} context="Not archived" />
      </ConfirmDialog>
    </>
  );
}

function NewReward() {
  const { claims } = useSignedIn();
  const allowed = can(claims, "manageCatalog");
  const noteId = useId();
  const queryClient = useQueryClient();
  const [key, renewKey] = useIdempotencyKey();
  const [form, setForm] = useState({ name: "", points: "", category: "", inventory: "", description: "" });
  const create = useMutation({
    mutationFn: (body: Schema<"CreateReward">) =>
      unwrap(api.POST("/api/v1/rewards", { params: { header: { "Idempotency-Key": key } }, body })),
    onSuccess: async () => {
      renewKey();
      setForm({ name: "", points: "", category: "", inventory: "", description: "" });
      await queryClient.invalidateQueries({ queryKey: ["rewards"] });
    },
  });
  const set = (field: keyof typeof form) => (value: string) => {
    setForm({ ...form, [field]: value });
    renewKey();
  };

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({
      name: form.name.trim(),
      points_cost: Number(form.points),
      category: form.category.trim() || null,
      inventory: form.inventory ? Number(form.inventory) : null,
      description: form.description.trim() || null,
    });
  }

  return (
    <Section title="New reward">
      <form onSubmit={submit} className="stack" aria-label="New reward">
        <label>
          Reward name
          <input required disabled={!allowed} value={form.name} onChange={(e) => set("name")(e.target.value)} />
        </label>
        <label>
          Points cost
          <input
            type="number"
            min={1}
            step={1}
            required
            disabled={!allowed}
            value={form.points}
            onChange={(e) => set("points")(e.target.value)}
          />
        </label>
        <label>
          Category
          <input disabled={!allowed} value={form.category} onChange={(e) => set("category")(e.target.value)} />
        </label>
        <label>
          Units in stock
          <input
            type="number"
            min={0}
            step={1}
            placeholder="Unlimited"
            disabled={!allowed}
            value={form.inventory}
            onChange={(e) => set("inventory")(e.target.value)}
          />
        </label>
        <label>
          Description
          <textarea
            rows={2}
            disabled={!allowed}
            value={form.description}
            onChange={(e) => set("description")(e.target.value)}
          />
        </label>
        <div className="actions">
          <button
            type="submit"
            className="primary"
            disabled={!allowed || create.isPending}
            aria-describedby={allowed ? undefined : noteId}
          >
            {create.isPending ? "Adding…" : "Add reward"}
          </button>
        </div>
        {!allowed ? <RoleNote id={noteId} who={whoMay("manageCatalog")} /> : null}
      </form>
      <ErrorNotice error={create.error} context="Not added" />
      {create.data ? <Success>{create.data.name} is in the catalog.</Success> : null}
    </Section>
  );
}

function FindRedemption() {
  const [id, setId] = useState("");
  const [invalid, setInvalid] = useState(false);
  return (
    <Section title="Find a redemption">
      <p className="muted">
        Redemptions show in a member's points history as points redeemed. Open one by its id (the member's
        app shows it with the code) to see its code, its steps, and to cancel it.
      </p>
      <form
        className="inline-form"
        aria-label="Find a redemption"
        onSubmit={(e) => {
          e.preventDefault();
          const value = id.trim();
          setInvalid(!UUID.test(value));
          if (UUID.test(value)) navigate(`/rewards/redemptions/${value.toLowerCase()}`);
        }}
      >
        <label>
          Redemption id
          <input required value={id} onChange={(e) => setId(e.target.value)} />
        </label>
        <button type="submit">Open</button>
      </form>
      {invalid ? (
        <p role="alert" className="notice notice-error">
          That is not a redemption id.
        </p>
      ) : null}
    </Section>
  );
}
