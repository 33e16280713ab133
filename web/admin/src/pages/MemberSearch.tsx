import { useMutation } from "@tanstack/react-query";
import { unwrap, type Schema } from "@tessera/client";
import { useState, type FormEvent } from "react";
import { ErrorNotice, Section } from "../components/common";
import { UUID } from "../format";
import { href, navigate } from "../router";
import { api } from "../session";
import { useSignedIn } from "../useSession";
import { businessOf } from "../permissions";

type By = "email" | "phone_number" | "id";

const LABELS: Record<By, string> = {
  email: "Email address",
  phone_number: "Phone number",
  id: "Member id",
};

export function MemberSearch() {
  const { claims } = useSignedIn();
  const [by, setBy] = useState<By>("email");
  const [value, setValue] = useState("");
  const [invalid, setInvalid] = useState<string | null>(null);
  const identify = useMutation({
    mutationFn: (body: Schema<"IdentifyRequest">) =>
      unwrap(api.POST("/api/v1/users/identify", { body })),
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setInvalid(null);
    const text = value.trim();
    if (by === "id") {
      if (!UUID.test(text)) {
        setInvalid("A member id looks like 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.");
        return;
      }
      navigate(`/members/${text.toLowerCase()}`);
      return;
    }
    // Staff act in their own business; platform operators name the demo business.
    const business_id = claims.biz ? undefined : businessOf(claims);
    identify.mutate(by === "email" ? { email: text, business_id } : { phone_number: text, business_id });
  }

  const found = identify.data;
  return (
    <>
      <h1 tabIndex={-1}>Members</h1>
      <Section title="Find a member">
        <form onSubmit={submit} className="stack" aria-label="Find a member">
          <fieldset className="inline-options">
            <legend>Find by</legend>
            {(Object.keys(LABELS) as By[]).map((option) => (
              <label key={option} className="option">
                <input
                  type="radio"
                  name="by"
                  value={option}
                  checked={by === option}
                  onChange={() => {
                    setBy(option);
                    identify.reset();
                  }}
                />
                {option === "email" ? "Email" : option === "phone_number" ? "Phone" : "Id"}
              </label>
            ))}
          </fieldset>
          <label>
            {LABELS[by]}
            <input
              type={by === "email" ? "email" : by === "phone_number" ? "tel" : "text"}
              required
              value={value}
              placeholder={by === "phone_number" ? "+61…" : undefined}
              onChange={(e) => setValue(e.target.value)}
              aria-describedby="find-hint"
            />
          </label>
          <p id="find-hint" className="muted">
            Email addresses and confirmed phone numbers are matched exactly, as the member gave them.
          </p>
          <div className="actions">
            <button type="submit" className="primary" disabled={identify.isPending}>
              {identify.isPending ? "Finding…" : "Find"}
            </button>
          </div>
        </form>
        {invalid ? (
          <p role="alert" className="notice notice-error">
            {invalid}
          </p>
        ) : null}
        <ErrorNotice error={identify.error} context="No match" />
        {found ? (
          <div role="region" aria-label="Search result" className="result">
            <p>
              Found <strong>{found.first_name} {found.last_initial}.</strong>{" "}
              <span className="muted">({found.member_id})</span>
            </p>
            <a className="button primary" href={href(`/members/${found.member_id}`)}>
              Open member
            </a>
          </div>
        ) : null}
      </Section>
    </>
  );
}
