import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { unwrap } from "@tessera/client";
import { useId } from "react";
import { Empty, ErrorNotice, LoadMore, Loading, RoleNote, Section, Success } from "../components/common";
import { formatTime, humanize, shortId } from "../format";
import { can, whoMay } from "../permissions";
import { href } from "../router";
import { api } from "../session";
import { useSignedIn } from "../useSession";

export function DeadJobs() {
  const { claims } = useSignedIn();
  const queryClient = useQueryClient();
  const allowed = can(claims, "moveMoney");
  const noteId = useId();
  const jobs = useInfiniteQuery({
    queryKey: ["dead-jobs"],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET("/api/v1/payments/jobs/dead", { params: { query: { cursor: pageParam, limit: 50 } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const retry = useMutation({
    mutationFn: (jobId: string) =>
      unwrap(api.POST("/api/v1/payments/jobs/{job_id}/retry", { params: { path: { job_id: jobId } } })),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ["dead-jobs"] }),
  });
  const items = jobs.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <>
      <h1 tabIndex={-1}>Dead jobs</h1>
      <p>
        PSP work that ran out of attempts (the PSP down for long, or refusing our requests), most
        recently dead first. A retry gives the job a fresh set of attempts; a job that may have reached
        the PSP asks it first, so nothing is charged twice.
      </p>
      <Section
        title="Dead-letter queue"
        actions={
          <button type="button" onClick={() => void jobs.refetch()} disabled={jobs.isFetching}>
            Refresh
          </button>
        }
      >
        {!allowed ? <RoleNote id={noteId} who={whoMay("moveMoney")} /> : null}
        {jobs.isPending ? <Loading what="dead jobs" /> : null}
        <ErrorNotice error={jobs.error} context="Dead jobs" />
        <ErrorNotice error={retry.error} context="Not retried" />
        {retry.data ? (
          <Success>
            Job <code>{retry.data.id}</code> is {humanize(retry.data.status).toLowerCase()}: the worker runs it
            again.
          </Success>
        ) : null}
        {jobs.data && items.length === 0 ? <Empty>No dead jobs.</Empty> : null}
        {items.length > 0 ? (
          <table aria-label="Dead jobs">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Kind</th>
                <th scope="col">Charge</th>
                <th scope="col">Attempts</th>
                <th scope="col">Reached the PSP?</th>
                <th scope="col">Last error</th>
                <th scope="col">Dead since</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((job) => (
                <tr key={job.id} data-job-id={job.id}>
                  <th scope="row">
                    <code>{job.id}</code>
                  </th>
                  <td>{humanize(job.kind)}</td>
                  <td>
                    <a href={href(`/payments/charges/${job.charge_id}`)} aria-label={`Charge ${job.charge_id}`}>
                      <code>{shortId(job.charge_id)}</code>
                    </a>
                  </td>
                  <td className="num">
                    {job.attempts} / {job.max_attempts}
                  </td>
                  <td>{job.psp_contacted ? "Maybe" : "No"}</td>
                  <td className="error-text">{job.last_error ?? "—"}</td>
                  <td>{formatTime(job.updated_at)}</td>
                  <td>
                    <button
                      type="button"
                      aria-label={`Retry job ${job.id}`}
                      aria-describedby={allowed ? undefined : noteId}
                      disabled={!allowed || (retry.isPending && retry.variables === job.id)}
                      onClick={() => retry.mutate(job.id)}
                    >
                      Retry
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <LoadMore
          what="dead jobs"
          hasMore={!!jobs.hasNextPage}
          loading={jobs.isFetchingNextPage}
          onClick={() => void jobs.fetchNextPage()}
        />
      </Section>
    </>
  );
}
