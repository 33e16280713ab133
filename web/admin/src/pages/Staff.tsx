import { useMutation, useQuery } from "@tanstack/react-query";
import { unwrap, type Role, type Schema } from "@tessera/client";
import { useId, useState, type FormEvent } from "react";
import {
  ConfirmDialog,
  Empty,
  ErrorNotice,
  FactTable,
  RoleNote,
  Section,
  Success,
} from "../components/common";
import { UUID, UUID_PATTERN } from "../format";
import { businessOf, can, creatableRoles, ROLE_NAMES, whoMay } from "../permissions";
import { api } from "../session";
import { useSignedIn } from "../useSession";

const STORE_ROLES: Role[] = ["store_manager", "cashier"];

export function Staff() {
  const [created, setCreated] = useState<Schema<"UserView">[]>([]);
  return (
    <>
      <h1 tabIndex={-1}>Staff</h1>
      <p>
        Admins create support and store staff; owners also admins and owners. Accounts are listed here as
        they are created; look any account up by its id.
      </p>
      <div className="grid">
        <NewStaff onCreated={(user) => setCreated((list) => [user, ...list])} />
        <div className="stack">
          <Lookup />
          <EraseStaff />
        </div>
      </div>
      <Section title="Created in this session">
        {created.length === 0 ? (
          <Empty>No accounts created yet.</Empty>
        ) : (
          <table aria-label="Staff created in this session">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Account id</th>
              </tr>
            </thead>
            <tbody>
              {created.map((u) => (
                <tr key={u.id}>
                  <th scope="row">
                    {u.first_name} {u.last_name}
                  </th>
                  <td>{u.email}</td>
                  <td>{ROLE_NAMES[u.role]}</td>
                  <td>
                    <code>{u.id}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}

function NewStaff({ onCreated }: { onCreated: (user: Schema<"UserView">) => void }) {
  const { claims } = useSignedIn();
  const roles = creatableRoles(claims);
  const business = businessOf(claims);
  const [email, setEmail] = useState("");
  const [first, setFirst] = useState("");
  const [last, setLast] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>(roles[0] ?? "support");
  const [stores, setStores] = useState<string[]>([]);
  const storeLevel = STORE_ROLES.includes(role);
  const storeList = useQuery({
    queryKey: ["stores", business],
    enabled: storeLevel,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/admin/businesses/{business_id}/stores", {
          params: { path: { business_id: business }, query: { limit: 100 } },
        }),
      ),
  });
  const create = useMutation({
    mutationFn: (body: Schema<"NewStaff">) => unwrap(api.POST("/api/v1/users/staff", { body })),
    onSuccess: (user) => {
      onCreated(user);
      setEmail("");
      setFirst("");
      setLast("");
      setPassword("");
      setStores([]);
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({
      email: email.trim(),
      first_name: first.trim(),
      last_name: last.trim(),
      password,
      role,
      business_id: role === "super_admin" ? null : claims.biz ?? business,
      ...(storeLevel ? { store_ids: stores } : {}),
    });
  }

  return (
    <Section title="New staff account">
      <form onSubmit={submit} className="stack" aria-label="New staff account">
        <label>
          Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          First name
          <input required value={first} onChange={(e) => setFirst(e.target.value)} />
        </label>
        <label>
          Last name
          <input required value={last} onChange={(e) => setLast(e.target.value)} />
        </label>
        <label>
          Initial password
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={12}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {roles.map((r) => (
              <option key={r} value={r}>
                {ROLE_NAMES[r]}
              </option>
            ))}
          </select>
        </label>
        {storeLevel ? (
          <fieldset>
            <legend>Stores</legend>
            <ErrorNotice error={storeList.error} context="Stores" />
            {storeList.data && storeList.data.items.length === 0 ? (
              <Empty>The business has no stores yet.</Empty>
            ) : null}
            <div className="checks">
              {(storeList.data?.items ?? []).map((s) => (
                <label key={s.id} className="option">
                  <input
                    type="checkbox"
                    checked={stores.includes(s.id)}
                    onChange={(e) =>
                      setStores(e.target.checked ? [...stores, s.id] : stores.filter((x) => x !== s.id))
                    }
                  />
                  {s.name}
                </label>
              ))}
            </div>
          </fieldset>
        ) : null}
        <div className="actions">
          <button type="submit" className="primary" disabled={create.isPending || roles.length === 0}>
            {create.isPending ? "Creating…" : "Create account"}
          </button>
        </div>
      </form>
      <ErrorNotice error={create.error} context="Not created" />
      {create.data ? (
        <Success>
          {create.data.email} can sign in as {ROLE_NAMES[create.data.role]}.
        </Success>
      ) : null}
    </Section>
  );
}

function Lookup() {
  const [id, setId] = useState("");
  const [wanted, setWanted] = useState<string | null>(null);
  const account = useQuery({
    queryKey: ["account", wanted],
    enabled: !!wanted,
    queryFn: () => unwrap(api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: wanted! } } })),
  });
  return (
    <Section title="Look up an account">
      <form
        className="inline-form"
        aria-label="Look up an account"
        onSubmit={(e) => {
          e.preventDefault();
          if (UUID.test(id.trim())) setWanted(id.trim().toLowerCase());
        }}
      >
        <label>
          Account id
          <input required pattern={UUID_PATTERN} value={id} onChange={(e) => setId(e.target.value)} />
        </label>
        <button type="submit">Look up</button>
      </form>
      <ErrorNotice error={account.error} context="Account" />
      {account.data ? (
        <FactTable
          label="Account"
          rows={[
            { name: "Name", value: `${account.data.first_name} ${account.data.last_name}` },
            { name: "Email", value: account.data.email },
            { name: "Role", value: ROLE_NAMES[account.data.role] },
          ]}
        />
      ) : null}
    </Section>
  );
}

function EraseStaff() {
  const { claims } = useSignedIn();
  const allowed = can(claims, "eraseStaff");
  const noteId = useId();
  const [id, setId] = useState("");
  const [open, setOpen] = useState(false);
  const erase = useMutation({
    mutationFn: (userId: string) =>
      unwrap(api.DELETE("/api/v1/users/{user_id}", { params: { path: { user_id: userId } } })),
    onSuccess: () => {
      setOpen(false);
      setId("");
    },
  });
  return (
    <Section title="Remove a staff account">
      <form
        className="inline-form"
        aria-label="Remove a staff account"
        onSubmit={(e) => {
          e.preventDefault();
          if (UUID.test(id.trim())) {
            erase.reset();
            setOpen(true);
          }
        }}
      >
        <label>
          Staff account id
          <input
            required
            disabled={!allowed}
            pattern={UUID_PATTERN}
            value={id}
            onChange={(e) => setId(e.target.value)}
          />
        </label>
        <button type="submit" className="danger" disabled={!allowed} aria-describedby={allowed ? undefined : noteId}>
          Remove…
        </button>
      </form>
      {!allowed ? <RoleNote id={noteId} who={whoMay("eraseStaff")} /> : null}
      {erase.isSuccess ? <Success>The account was erased.</Success> : null}
      <ConfirmDialog
        open={open}
        title="Remove this staff account?"
        confirmLabel="Erase account"
        danger
        busy={erase.isPending}
        onCancel={() => setOpen(false)}
        onConfirm={() => erase.mutate(id.trim())}
      >
        <p>
          Account <code>{id}</code> is erased: it can no longer sign in, and its personal data is removed. This
          cannot be undone.
        </p>
        <ErrorNotice error={erase.error} context="Not erased" />
      </ConfirmDialog>
    </Section>
  );
}
