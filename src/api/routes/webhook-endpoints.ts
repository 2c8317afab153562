import Type from "typebox";
import { allEventTypes, eventTypes } from "../../economy/events/events.js";
import { GiftstreamError } from "../../errors.js";
import { endpointUrlLengthMax } from "../../webhooks/endpoint-url.js";
import { deliveryIdOf, descriptionLengthMax, type WebhookEndpoints } from "../../webhooks/endpoints.js";
import type { AttemptRecord, Delivery, WebhookEndpoint } from "../../webhooks/webhook-store.js";
import type { GiftstreamApp } from "../app.js";
import { actorOf } from "../auth.js";
import { errorResponses } from "../problem.js";

const deliveriesPageMax = 100;
/** Attempts shown with each delivery of a list; one delivery's own page shows them all. */
const attemptsListedMax = 5;

const EventTypeSchema = Type.Enum([...eventTypes, allEventTypes], {
  description: "An event type, or `*` for every type (including types added later).",
});

const EndpointView = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    events: Type.Array(Type.String()),
    description: Type.Union([Type.String(), Type.Null()]),
    secretPrefix: Type.String({ description: "The first characters of the signing secret." }),
    createdAt: Type.String({ format: "date-time" }),
    deletedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  },
  { additionalProperties: false },
);

const CreatedEndpoint = Type.Object(
  {
    ...EndpointView.properties,
    secret: Type.String({ description: "The signing secret. Shown only in this response; store it now." }),
  },
  { additionalProperties: false },
);

const Attempt = Type.Object(
  {
    at: Type.String({ format: "date-time" }),
    statusCode: Type.Union([Type.Integer(), Type.Null()], {
      description: "The receiver's HTTP status; null when none came.",
    }),
    error: Type.Union([Type.String(), Type.Null()], { description: "Why the attempt failed; null on 2xx." }),
    durationMs: Type.Integer(),
  },
  { additionalProperties: false },
);

const DeliveryView = Type.Object(
  {
    id: Type.String(),
    endpointId: Type.String(),
    eventId: Type.String(),
    eventType: Type.String(),
    status: Type.Union(
      [Type.Literal("pending"), Type.Literal("delivered"), Type.Literal("failed"), Type.Literal("cancelled")],
      { description: "`failed`: given up after its retries; `cancelled`: its endpoint was deleted." },
    ),
    attemptCount: Type.Integer(),
    nextAttemptAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    createdAt: Type.String({ format: "date-time" }),
    deliveredAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    lastAttempt: Type.Union([Attempt, Type.Null()]),
  },
  { additionalProperties: false },
);

const DeliveryDetail = Type.Object(
  {
    ...DeliveryView.properties,
    attempts: Type.Array(Attempt, { description: "Every attempt, oldest first (the last 1,000)." }),
    event: Type.Unknown({ description: "The event, exactly as sent." }),
  },
  { additionalProperties: false },
);

const EndpointParams = Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
const DeliveryParams = Type.Object(
  { id: Type.String({ maxLength: 64 }), deliveryId: Type.String({ maxLength: 64 }) },
  { additionalProperties: false },
);

const authErrors = ["unauthenticated", "forbidden"] as const;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function endpointView(e: WebhookEndpoint) {
  return { ...e, createdAt: iso(e.createdAt)!, deletedAt: iso(e.deletedAt) };
}

function attemptView(a: AttemptRecord) {
  return { ...a, at: iso(a.at)! };
}

function deliveryView(d: Delivery) {
  return {
    id: deliveryIdOf(d.id),
    endpointId: d.endpointId,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attemptCount: d.attemptCount,
    nextAttemptAt: iso(d.nextAttemptAt),
    createdAt: iso(d.createdAt)!,
    deliveredAt: iso(d.deliveredAt),
    lastAttempt: d.lastAttempt === null ? null : attemptView(d.lastAttempt),
  };
}

/**
 * `/v1/webhook-endpoints`: the operator's endpoints for outbound webhooks, their delivery log and
 * manual redelivery. Admin only; every change is audited.
 */
export function webhookEndpointRoutes(app: GiftstreamApp, endpoints: WebhookEndpoints): void {
  app.post(
    "/v1/webhook-endpoints",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Create a webhook endpoint",
        description: "Returns its signing secret, once. It receives the events that happen from now on.",
        tags: ["webhooks"],
        body: Type.Object(
          {
            url: Type.String({ minLength: 1, maxLength: endpointUrlLengthMax, description: "http or https" }),
            events: Type.Array(EventTypeSchema, {
              minItems: 1,
              maxItems: eventTypes.length + 1,
              uniqueItems: true,
            }),
            description: Type.Optional(Type.String({ minLength: 1, maxLength: descriptionLengthMax })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: CreatedEndpoint,
          ...errorResponses("invalid_request", "too_many_webhook_endpoints", ...authErrors),
        },
      },
    },
    async (request, reply) => {
      const { endpoint, secret } = await endpoints.create(request.body, actorOf(request.principal));
      return reply.code(201).send({ ...endpointView(endpoint), secret });
    },
  );

  app.get(
    "/v1/webhook-endpoints",
    {
      config: { scope: "admin" },
      schema: {
        summary: "List webhook endpoints (never their secrets)",
        tags: ["webhooks"],
        response: { 200: Type.Object({ data: Type.Array(EndpointView) }), ...errorResponses(...authErrors) },
      },
    },
    async () => ({ data: (await endpoints.list()).map(endpointView) }),
  );

  app.get(
    "/v1/webhook-endpoints/:id",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Read a webhook endpoint",
        tags: ["webhooks"],
        params: EndpointParams,
        response: { 200: EndpointView, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request) => endpointView(await endpoints.get(request.params.id)),
  );

  app.delete(
    "/v1/webhook-endpoints/:id",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Delete a webhook endpoint",
        description: "Its pending deliveries are cancelled; its delivery log is kept.",
        tags: ["webhooks"],
        params: EndpointParams,
        response: { 200: EndpointView, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request) => endpointView(await endpoints.delete(request.params.id, actorOf(request.principal))),
  );

  app.get(
    "/v1/webhook-endpoints/:id/deliveries",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Read an endpoint's delivery log",
        description: "Newest first, each with its latest attempts.",
        tags: ["webhooks"],
        params: EndpointParams,
        querystring: Type.Object(
          {
            cursor: Type.Optional(Type.String({ maxLength: 64 })),
            limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,2}$" })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object(
                { ...DeliveryView.properties, attempts: Type.Array(Attempt) },
                { additionalProperties: false },
              ),
            ),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses("invalid_request", "not_found", ...authErrors),
        },
      },
    },
    async (request) => {
      const limit = Number(request.query.limit ?? "20");
      if (limit > deliveriesPageMax) {
        throw new GiftstreamError("invalid_request", `limit is at most ${deliveriesPageMax}`);
      }
      const page = await endpoints.deliveries(request.params.id, request.query.cursor, limit);
      const data = [];
      for (const d of page.deliveries) {
        const attempts = await endpoints.attempts(d.id, attemptsListedMax);
        data.push({ ...deliveryView(d), attempts: attempts.map(attemptView) });
      }
      return { data, nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/v1/webhook-endpoints/:id/deliveries/:deliveryId",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Read one delivery, with every attempt and the event sent",
        tags: ["webhooks"],
        params: DeliveryParams,
        response: { 200: DeliveryDetail, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request) => {
      const { delivery, attempts, event } = await endpoints.delivery(
        request.params.id,
        request.params.deliveryId,
      );
      return { ...deliveryView(delivery), attempts: attempts.map(attemptView), event: JSON.parse(event) };
    },
  );

  app.post(
    "/v1/webhook-endpoints/:id/deliveries/:deliveryId/redeliver",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Send a delivery again",
        description:
          "Queues it due now with a fresh retry budget, whatever its status (except cancelled). The event keeps its id.",
        tags: ["webhooks"],
        params: DeliveryParams,
        response: { 202: DeliveryView, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request, reply) => {
      const delivery = await endpoints.redeliver(
        request.params.id,
        request.params.deliveryId,
        actorOf(request.principal),
      );
      return reply.code(202).send(deliveryView(delivery));
    },
  );
}
