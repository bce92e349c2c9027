// The end of the request path: picks the endpoint that answers the inquiry type (the upstream manager
// chooses among a binding's endpoints) and calls it through its breaker, with a deadline that is the
// tighter of the caller's and the inquiry type's.

import { startUpstreamDeadline } from "../connectors/deadline.ts";
import type { Upstreams } from "../connectors/upstreams.ts";
import { EstelamError } from "../core/errors.ts";
import type { InquiryHandler } from "./chain.ts";
import type { FairShare } from "./fair-share.ts";

export function createRouter(upstreams: Upstreams, fairShare?: FairShare): InquiryHandler {
  return async (ctx) => {
    const type = ctx.inquiryType;
    if (type === undefined || ctx.params === undefined || ctx.credential === undefined) {
      throw new EstelamError("INTERNAL", "router reached before the request was authenticated and validated");
    }
    const binding = ctx.snapshot.bindings.get(type.id);
    if (binding === undefined) throw new EstelamError("NO_ROUTE", `no agency answers '${type.id}' online yet`, { agency: type.agency });
    if (ctx.snapshot.agencies.get(type.agency)?.status === "suspended")
      throw new EstelamError("NO_ROUTE", `agency '${type.agency}' is suspended`, { agency: type.agency });
    // One draw of the routes: the first is charged to the asking agency's fair share and called first.
    const routes = upstreams.candidates(binding);
    const first = routes[0];
    if (first === undefined) throw new EstelamError("NO_ROUTE", `no endpoint of '${type.id}' is connected`, { agency: type.agency });
    ctx.route = first.route;

    const now = Date.now();
    const callerDeadline = ctx.call.deadline;
    if (callerDeadline !== undefined && callerDeadline <= now) {
      throw new EstelamError("DEADLINE_EXCEEDED", "the caller's deadline passed before the agency was asked", {
        agency: first.route.endpoint.agency,
      });
    }
    // The asking agency's fair share of the endpoint chosen first (failover to another endpoint of the binding
    // runs within the same share); refused here, the agency is never asked.
    const release = fairShare?.acquire(first.route.endpoint, first.route.endpoint.breaker.maxConcurrent, ctx.credential.agency);
    const deadline = startUpstreamDeadline(type.timeoutMs, callerDeadline, ctx.call.signal, now);
    const started = performance.now();
    ctx.requestOutAt = now;
    try {
      // Spread over the binding's endpoints, failing over when one is down; the route that answered is recorded.
      return await upstreams.call(
        routes,
        {
          inquiryId: ctx.inquiryId,
          inquiryType: type.id,
          requester: ctx.credential.agency,
          purpose: ctx.request.purpose,
          params: ctx.params,
          signal: deadline.signal,
          deadline: deadline.deadline,
        },
        type.result,
        (route) => {
          ctx.route = route;
        },
      );
    } catch (error) {
      // A call refused by the breaker itself never left the gateway.
      if (error instanceof EstelamError && (error.reason === "BREAKER_OPEN" || error.reason === "AGENCY_SATURATED")) {
        ctx.requestOutAt = undefined;
      }
      throw error;
    } finally {
      release?.();
      deadline.dispose();
      if (ctx.requestOutAt !== undefined) {
        ctx.responseInAt = Date.now();
        ctx.upstreamSeconds = (performance.now() - started) / 1000;
      }
    }
  };
}
