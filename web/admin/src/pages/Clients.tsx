import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { nextCursor, TesseraApiError, type Schema } from "@tessera/client";
import { useState, type FormEvent } from "react";
import { ConfirmDialog, Empty, ErrorNotice, LoadMore, Loading, Section, Success } from "../components/common";
import { formatTime } from "../format";
import { unwrap } from "@tessera/client";
import { api } from "../session";

/** The scopes a business's admins may grant (the partner OAuth2 scheme's, less the internal one). */
export const SCOPES: { scope: string; description: string }[] = [
  { scope: "points:earn", description: "Earn points for members (purchases, orders)" },
  { scope: "points:read", description: "Read members' balances and history" },
  { scope: "points:redeem", description: "Redeem members' points" },
  { scope: "stamps:issue", description: "Issue and void stamps at a store of the client's business" },
  { scope: "orders:write", description: "Report completed orders" },
  { scope: "payments:write", description: "Create charges, refunds and checkout sessions; record withdrawals" },
  { scope: "payments:read", description: "Read charges and refunds" },
  { scope: "rewards:read", description: "Read the reward catalog" },
  { scope: "rewards:fulfil", description: "Use (fulfil) redemption codes of the client's business" },
  { scope: "members:read", description: "Identify and read members" },
  { scope: "settlements:write", description: "Upload the card processor's settlement files" },
];

type ClientView = Schema<"ClientView">;

/** The secret key of a client, shown once after it is made. */
function SecretShown({ created, onDone }: { created: Schema<"CreatedClient">; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div role="region" aria-label="New secret key" className="notice notice-ok">
      <p>
        <strong>{created.name}</strong>: the secret key is shown this once. Give it to the partner now; only a
        hint of it is kept.
      </p>
      <p>
        Client id <code>{created.client_id}</code>
      </p>
      <p>
        Secret key <output className="secret">{created.client_secret}</output>
      </p>
      <p>Scopes: {created.scopes.join(", ")}</p>
      <div className="actions">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(created.client_secret).then(() => setCopied(true));
          }}
        >
          {copied ? "Copied" : "Copy the key"}
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

export function Clients() {
  const queryClient = useQueryClient();
  const clients = useInfiniteQuery({
    queryKey: ["clients"],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => {
      const { data, error, response } = await api.GET("/api/v1/auth/clients", {
        params: { query: { cursor: pageParam, limit: 50 } },
      });
      if (error !== undefined || !data) throw new TesseraApiError(response, error);
      return { items: data, next: nextCursor(response) };
    },
    getNextPageParam: (last) => last.next,
  });
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>([]);
  const [shown, setShown] = useState<Schema<"CreatedClient"> | null>(null);
  const [rotating, setRotating] = useState<ClientView | null>(null);
  const [overlap, setOverlap] = useState("86400");
  const [revoking, setRevoking] = useState<ClientView | null>(null);

  const create = useMutation({
    mutationFn: (body: Schema<"CreateClientRequest">) => unwrap(api.POST("/api/v1/auth/clients", { body })),
    onSuccess: async (created) => {
      setShown(created);
      setName("");
      setScopes([]);
      await queryClient.invalidateQueries({ queryKey: ["clients"] });
    },
  });
  const rotate = useMutation({
    mutationFn: ({ id, overlap_secs }: { id: string; overlap_secs: number }) =>
      unwrap(
        api.POST("/api/v1/auth/clients/{client_id}/rotate", {
          params: { path: { client_id: id } },
          body: { overlap_secs },
        }),
      ),
    onSuccess: async (created) => {
      setRotating(null);
      setShown(created);
      await queryClient.invalidateQueries({ queryKey: ["clients"] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/auth/clients/{client_id}", { params: { path: { client_id: id } } })),
    onSuccess: async () => {
      setRevoking(null);
      await queryClient.invalidateQueries({ queryKey: ["clients"] });
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ name: name.trim(), scopes });
  }

  const items = clients.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <h1 tabIndex={-1}>Partner clients</h1>
      <p>
        A partner (a POS, a shop) exchanges its client id and secret key for a token that carries only the
        scopes given here.
      </p>
      {shown ? <SecretShown created={shown} onDone={() => setShown(null)} /> : null}
      <Section title="New partner client">
        <form onSubmit={submit} className="stack" aria-label="New partner client">
          <label>
            Client name
            <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <fieldset>
            <legend>Scopes</legend>
            <div className="checks">
              {SCOPES.map(({ scope, description }) => (
                <label key={scope} className="option">
                  <input
                    type="checkbox"
                    checked={scopes.includes(scope)}
                    onChange={(e) =>
                      setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))
                    }
                  />
                  <span className="scope">
                    <code>{scope}</code> <span className="muted">{description}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          <div className="actions">
            <button type="submit" className="primary" disabled={create.isPending || scopes.length === 0 || !name.trim()}>
              {create.isPending ? "Creating…" : "Create client"}
            </button>
          </div>
        </form>
        <ErrorNotice error={create.error} context="Not created" />
      </Section>
      <Section title="Clients">
        {clients.isPending ? <Loading what="partner clients" /> : null}
        <ErrorNotice error={clients.error} context="Partner clients" />
        {revoke.isSuccess ? <Success>The client was revoked: its keys stopped working.</Success> : null}
        {clients.data && items.length === 0 ? <Empty>No partner clients yet.</Empty> : null}
        {items.length > 0 ? (
          <table aria-label="Partner clients">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client id</th>
                <th scope="col">Scopes</th>
                <th scope="col">Keys</th>
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id}>
                  <th scope="row">{c.name}</th>
                  <td>
                    <code>{c.id}</code>
                  </td>
                  <td>{c.scopes.join(", ")}</td>
                  <td>
                    {c.secrets.length === 0
                      ? "—"
                      : c.secrets.map((s) => (
                          <div key={s.id}>
                            <code>{s.hint}</code>
                            {s.expires_at ? <span className="muted"> until {formatTime(s.expires_at)}</span> : null}
                          </div>
                        ))}
                  </td>
                  <td>{formatTime(c.created_at)}</td>
                  <td>{c.revoked_at ? `Revoked ${formatTime(c.revoked_at)}` : "Active"}</td>
                  <td className="row-actions">
                    {c.revoked_at ? null : (
                      <>
                        <button
                          type="button"
                          aria-label={`Rotate the key of ${c.name}`}
                          onClick={() => {
                            rotate.reset();
                            setRotating(c);
                          }}
                        >
                          Rotate key
                        </button>
                        <button
                          type="button"
                          className="danger"
                          aria-label={`Revoke ${c.name}`}
                          onClick={() => {
                            revoke.reset();
                            setRevoking(c);
                          }}
                        >
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <LoadMore
          what="clients"
          hasMore={!!clients.hasNextPage}
          loading={clients.isFetchingNextPage}
          onClick={() => void clients.fetchNextPage()}
        />
      </Section>
      <ConfirmDialog
        open={!!rotating}
        title={`Rotate the key of ${rotating?.name ?? ""}?`}
        confirmLabel="Issue a new key"
        busy={rotate.isPending}
        onCancel={() => setRotating(null)}
        onConfirm={() => rotating && rotate.mutate({ id: rotating.id, overlap_secs: Number(overlap) })}
      >
        <p>A new secret key is issued; the current one keeps working for the overlap you choose.</p>
        <label>
          Overlap
          <select value={overlap} onChange={(e) => setOverlap(e.target.value)}>
            <option value="0">None: the current key stops now</option>
            <option value="3600">One hour</option>
            <option value="86400">One day</option>
            <option value="604800">One week</option>
          </select>
        </label>
        <ErrorNotice error={rotate.error} context="Not rotated" />
      </ConfirmDialog>
      <ConfirmDialog
        open={!!revoking}
        title={`Revoke ${revoking?.name ?? ""}?`}
        confirmLabel="Revoke client"
        danger
        busy={revoke.isPending}
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
      >
        <p>Every key of this client stops working at once; tokens already issued expire within minutes.</p>
        <ErrorNotice error={revoke.error} context="Not revoked" />
      </ConfirmDialog>
    </>
  );
}
