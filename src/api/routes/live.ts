import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import Type from "typebox";
import { GiftstreamError } from "../../errors.js";
import type { LiveFeed } from "../../realtime/feed.js";
import {
  type LeaderboardEntry,
  type Leaderboards,
  leaderboardPeriods,
  type TimeRange,
} from "../../realtime/leaderboards.js";
import { keepAliveFrame } from "../../realtime/sse.js";
import type { LiveSink } from "../../realtime/stream-tracker.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";
import { UserIdParams } from "./users.js";

export interface LiveRouteLimits {
  keepAliveMs: number;
  subscriberBufferBytesMax: number;
}

/** The same bounds as a gift's `context.id`. */
const StreamParams = Type.Object(
  { streamId: Type.String({ minLength: 1, maxLength: 128, description: "The live stream's id." }) },
  { additionalProperties: false },
);

const eventIdPattern = "^(0|[1-9][0-9]{0,18})$";

const Limit = Type.Optional(
  Type.String({
    pattern: "^[1-9][0-9]{0,3}$",
    description: "Lines to return: 1 to live.leaderboardSizeMax (default 10).",
  }),
);

const Entry = Type.Object(
  {
    rank: Type.Integer({ minimum: 1 }),
    userId: Type.String(),
    displayName: Type.Union([Type.String(), Type.Null()]),
    coins: Type.String({ description: "Coins spent on gifts, an integer string." }),
    gifts: Type.Integer({ description: "Gifts sent: quantities summed." }),
  },
  { additionalProperties: false },
);

function entriesView(entries: readonly LeaderboardEntry[]) {
  return entries.map((e, i) => ({
    rank: i + 1,
    userId: e.userId,
    displayName: e.displayName,
    coins: e.coins.toString(),
    gifts: Number(e.gifts),
  }));
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function rangeView(range: TimeRange) {
  return { from: iso(range.fromMs), to: iso(range.toMs) };
}

const readAccess = { userToken: "any" } as const;

/**
 * `GET /v1/live/{streamId}/events` (Server-Sent Events) and the leaderboards of a stream and of a
 * creator. See docs/live.md.
 */
export function liveRoutes(
  app: GiftstreamApp,
  feed: LiveFeed,
  leaderboards: Leaderboards,
  limits: LiveRouteLimits,
): void {
  // Open event streams never end on their own: end them, or closing would wait for every client.
  app.addHook("preClose", async () => feed.close());

  app.get(
    "/v1/live/:streamId/events",
    {
      config: readAccess,
      schema: {
        summary: "Follow a live stream's gifts (Server-Sent Events)",
        description:
          "A `text/event-stream` of `gift` events, each with an `id`. `Last-Event-ID` (or `lastEventId`) resumes after that event. See docs/live.md.",
        tags: ["live"],
        params: StreamParams,
        querystring: Type.Object(
          {
            lastEventId: Type.Optional(
              Type.String({
                pattern: eventIdPattern,
                description: "For clients that cannot send the header; the header wins.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        headers: Type.Object({
          "last-event-id": Type.Optional(
            Type.String({ pattern: eventIdPattern, description: "Resume after this event id." }),
          ),
        }),
        response: {
          200: {
            description: "The event stream; it stays open until the client or the server closes it.",
            content: { "text/event-stream": { schema: Type.String() } },
          },
          ...errorResponses("invalid_request", "unauthenticated", "forbidden", "too_many_subscribers"),
        },
      },
    },
    async (request, reply) => {
      const after = request.headers["last-event-id"] ?? request.query.lastEventId;
      const afterSeq = after === undefined ? null : BigInt(after);
      if (afterSeq !== null) {
        const head = await feed.headSeq();
        if (afterSeq > head) {
          throw new GiftstreamError(
            "invalid_request",
            `Last-Event-ID ${afterSeq} is ahead of the newest event (${head}); it was not issued here.`,
          );
        }
      }
      const subscription = feed.reserve(request.params.streamId);
      const sink = openEventStream(request, reply, limits, () => subscription.release());
      try {
        await subscription.start(afterSeq, sink);
      } catch (error) {
        request.log.error({ err: error }, "live feed subscription failed");
        sink.end();
      }
    },
  );

  app.get(
    "/v1/live/:streamId/leaderboard",
    {
      config: readAccess,
      schema: {
        summary: "Top gifters of a live stream, by coins",
        tags: ["live"],
        params: StreamParams,
        querystring: Type.Object({ limit: Limit }, { additionalProperties: false }),
        response: {
          200: Type.Object(
            { streamId: Type.String(), data: Type.Array(Entry) },
            { additionalProperties: false },
          ),
          ...errorResponses("invalid_request", "unauthenticated", "forbidden"),
        },
      },
    },
    async (request) => {
      const limit = limitOf(request.query.limit, leaderboards.sizeMax);
      const entries = await leaderboards.stream(request.params.streamId, limit);
      return { streamId: request.params.streamId, data: entriesView(entries) };
    },
  );

  app.get(
    "/v1/creators/:userId/leaderboard",
    {
      config: readAccess,
      schema: {
        summary: "A creator's top gifters over a period, by coins",
        description: "`day` and `week` are the current UTC day and ISO week; `all` is every gift.",
        tags: ["live"],
        params: UserIdParams,
        querystring: Type.Object(
          {
            period: Type.Optional(Type.Enum([...leaderboardPeriods], { description: "Default `all`." })),
            limit: Limit,
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              userId: Type.String(),
              period: Type.Enum([...leaderboardPeriods]),
              from: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
              to: Type.Union([Type.String({ format: "date-time" }), Type.Null()], {
                description: "Exclusive.",
              }),
              data: Type.Array(Entry),
            },
            { additionalProperties: false },
          ),
          ...errorResponses("invalid_request", "not_found", "unauthenticated", "forbidden"),
        },
      },
    },
    async (request) => {
      const period = request.query.period ?? "all";
      const limit = limitOf(request.query.limit, leaderboards.sizeMax);
      const { range, entries } = await leaderboards.creator(request.params.userId, period, limit);
      return { userId: request.params.userId, period, ...rangeView(range), data: entriesView(entries) };
    },
  );
}

/**
 * Takes the response over from Fastify and starts the event stream. The returned sink writes
 * frames, sends a keep-alive every `keepAliveMs`, and ends the stream (once) on its own `end`, on a client
 * that goes away, or on one too slow to keep up, whose unsent frames pass the buffer limit: it
 * reconnects and resumes from its last id instead of holding the server's memory.
 */
function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  limits: LiveRouteLimits,
  onEnd: () => void,
): LiveSink {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    // What hooks set already (the request id, rate-limit headers) goes out with the stream.
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    // nginx buffers responses unless told not to, which would hold events back.
    "x-accel-buffering": "no",
  });
  // Sends the headers now, so that the client knows it is subscribed before the first gift.
  res.write(": subscribed\n\n");
  let ended = false;
  const write = (frame: string) => {
    if (ended) return;
    if (res.writableLength > limits.subscriberBufferBytesMax) {
      request.log.warn("live subscriber too slow; ending its stream so that it resumes");
      end();
      return;
    }
    res.write(frame);
  };
  // Each keep-alive asks again whether the caller's credential still holds: a stream outlives the
  // token that opened it otherwise (expired, its key retired, an API key revoked).
  const keepAlive = setInterval(() => {
    write(keepAliveFrame);
    const check = request.stillAuthenticated;
    if (check === null) return;
    void check().then((ok) => {
      if (ok || ended) return;
      request.log.info("live subscriber's credential no longer holds; ending its stream");
      end();
    });
  }, limits.keepAliveMs);
  keepAlive.unref();
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    onEnd();
    res.end();
  };
  res.on("close", end);
  return { send: write, end };
}

/** A leaderboard's lines: as asked, else 10, or fewer when `live.leaderboardSizeMax` allows fewer. */
function limitOf(asked: string | undefined, sizeMax: number): number {
  return asked === undefined ? Math.min(10, sizeMax) : Number(asked);
}
