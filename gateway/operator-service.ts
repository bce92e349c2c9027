// The OperatorService implementation: the scoreboard and the breakers, for admin credentials. The same
// messages, as JSON, feed the status page (gateway/status-page.ts), so the page and `estelam status` show
// the same numbers.
import { create, type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EstelamError } from "../core/errors.ts";
import {
  BreakerState,
  type EndpointBreakerSchema,
  InquiryStatus,
  type OperatorService,
  ScoreboardSchema as ScoreboardMessage,
  type ScoreboardSchema,
  ShareBucket,
} from "../gen/estelam/operator/v1/operator_pb.js";
import type {
  BreakerStateName,
  ShareBucket as Bucket,
  EndpointBreakerView,
  ScoreboardView,
  InquiryStatus as Status,
} from "../observability/scoreboard/model.ts";
import type { Scoreboard } from "../observability/scoreboard/scoreboard.ts";
import type { Registry } from "../registry/registry.ts";
import type { ServiceImpl } from "./grpc/adapter.ts";
import type { CallContext } from "./grpc/call-context.ts";
import { credentialOf } from "./interceptors/authenticate.ts";

const STATUS: Readonly<Record<Status, InquiryStatus>> = {
  online: InquiryStatus.ONLINE,
  degraded: InquiryStatus.DEGRADED,
  offline: InquiryStatus.OFFLINE,
  not_connected: InquiryStatus.NOT_CONNECTED,
};
const BREAKER: Readonly<Record<BreakerStateName, BreakerState>> = {
  closed: BreakerState.CLOSED,
  half_open: BreakerState.HALF_OPEN,
  open: BreakerState.OPEN,
};
const BUCKET: Readonly<Record<Bucket, ShareBucket>> = {
  above_90: ShareBucket.ABOVE_90,
  from_50_to_90: ShareBucket.FROM_50_TO_90,
  below_50: ShareBucket.BELOW_50,
  none: ShareBucket.NONE,
};

export function scoreboardMessage(view: ScoreboardView): MessageInitShape<typeof ScoreboardSchema> {
  return {
    generatedAt: timestampFromMs(view.generatedAtMs),
    registryRevision: BigInt(view.registryRevision),
    windowMinutes: view.windowMinutes,
    instances: [...view.instances],
    todayStart: timestampFromMs(view.todayStartMs),
    inquiryTypes: view.inquiryTypes.map((t) => ({
      id: t.id,
      agency: t.agency,
      title: { ...t.title },
      status: STATUS[t.status],
      reasons: [...t.reasons],
      volumeToday: BigInt(t.volumeToday),
      answered: BigInt(t.answered),
      faults: BigInt(t.faults),
      refused: BigInt(t.refused),
      successRate: t.successRate,
      p50Ms: t.p50Ms,
      p95Ms: t.p95Ms,
      p99Ms: t.p99Ms,
      breaker: t.breaker === undefined ? BreakerState.UNSPECIFIED : BREAKER[t.breaker],
      objectives: { ...t.objectives },
      errorBurn: t.errorBurn,
      latencyBurn: t.latencyBurn,
      series: t.series.map((p) => ({
        minute: timestampFromMs(p.minute * 60_000),
        volume: BigInt(p.volume),
        faults: BigInt(p.faults),
        p95Ms: p.p95Ms,
      })),
    })),
    agencies: view.agencies.map((a) => ({
      id: a.id,
      name: { ...a.name },
      inquiryTypes: a.inquiryTypes,
      online: a.online,
      shareOnline: a.shareOnline,
      bucket: BUCKET[a.bucket],
      rank: a.rank,
      daily: a.daily.map((p) => ({ ...p })),
      weekly: a.weekly.map((p) => ({ ...p })),
    })),
    buckets: [...view.buckets].map(([bucket, agencies]) => ({ bucket: BUCKET[bucket], agencies })),
  };
}

export function breakerMessage(b: EndpointBreakerView): MessageInitShape<typeof EndpointBreakerSchema> {
  return {
    endpoint: b.endpoint,
    agency: b.agency,
    state: BREAKER[b.state],
    inquiryTypes: [...b.inquiryTypes],
    instances: b.instances.map((i) => ({ instance: i.instance, state: BREAKER[i.state], reportedAt: timestampFromMs(i.reportedAtMs) })),
  };
}

/** The scoreboard as the proto's canonical JSON (for the status page). */
export function scoreboardJson(view: ScoreboardView): unknown {
  return toJson(ScoreboardMessage, create(ScoreboardMessage, scoreboardMessage(view)), { alwaysEmitImplicit: true });
}

export interface OperatorServiceOptions {
  readonly registry: Registry;
  readonly scoreboard: Scoreboard;
}

export function createOperatorService(options: OperatorServiceOptions): ServiceImpl<typeof OperatorService> {
  const { registry, scoreboard } = options;
  const admin = (call: CallContext): void => {
    const snapshot = registry.current();
    const credential = credentialOf(call, snapshot);
    if (credential.role !== "admin")
      throw new EstelamError("ADMIN_REQUIRED", `credential '${credential.id}' is not an admin credential; only admins read the scoreboard`);
    if (snapshot.agencies.get(credential.agency)?.status !== "active")
      throw new EstelamError("ADMIN_REQUIRED", `agency '${credential.agency}' of credential '${credential.id}' is suspended`);
  };
  const view = async (trendDays?: number, trendWeeks?: number): Promise<ScoreboardView> => {
    try {
      return await scoreboard.view({ trendDays, trendWeeks });
    } catch (error) {
      throw new EstelamError("REGISTRY_UNAVAILABLE", `the scoreboard cannot be read from the database: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  return {
    async getScoreboard(request, call) {
      admin(call);
      const v = await view(request.trendDays || undefined, request.trendWeeks || undefined);
      return { scoreboard: scoreboardMessage(v) };
    },
    async listBreakers(_request, call) {
      admin(call);
      const v = await view();
      return { breakers: v.breakers.map(breakerMessage) };
    },
  };
}
