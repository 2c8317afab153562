import Type from "typebox";
import { maskName } from "../../economy/masking.js";
import { schemeOf } from "../../economy/payout-methods/payout-method.js";
import { payoutMethodLimits } from "../../economy/payout-methods/payout-method-input.js";
import type { LinkedPayoutMethod, PayoutMethods } from "../../economy/payout-methods/payout-methods.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";
import { iso } from "./kyc-schemas.js";
import { UserIdParams } from "./users.js";

const authErrors = ["unauthenticated", "forbidden"] as const;

const MethodParams = Type.Object(
  {
    userId: UserIdParams.properties.userId,
    methodId: Type.String({ pattern: "^pm_[A-Za-z0-9_-]{1,40}$" }),
  },
  { additionalProperties: false },
);

const field = (maxLength: number, description: string) =>
  Type.Optional(Type.String({ minLength: 1, maxLength, pattern: "^[^\\p{Cc}]*$", description }));

const LinkBody = Type.Object(
  {
    type: Type.Enum(["paypal", "bank_account", "stripe_account"]),
    holderName: field(
      payoutMethodLimits.holderNameLengthMax,
      "The account holder. Required for bank_account; optional for paypal and stripe_account (see docs/payout-methods.md).",
    ),
    email: field(payoutMethodLimits.emailLengthMax, "paypal: the PayPal account's email."),
    accountId: field(
      payoutMethodLimits.stripeAccountIdLengthMax,
      "stripe_account: the creator's Stripe connected account (`acct_…`).",
    ),
    iban: field(42, "bank_account by IBAN: spaces allowed."),
    bic: field(11, "bank_account by IBAN, optional: the BIC (SWIFT code)."),
    routingNumber: field(9, "US bank_account: the 9-digit ABA routing number."),
    accountNumber: field(20, "US bank_account: 4 to 17 digits."),
    accountType: Type.Optional(Type.Enum(["checking", "savings"], { description: "US bank_account." })),
  },
  { additionalProperties: false },
);

const MethodView = Type.Object(
  {
    id: Type.String(),
    userId: Type.String(),
    type: Type.Enum(["paypal", "bank_account", "stripe_account"]),
    scheme: Type.Enum(["paypal", "stripe", "iban", "aba"], { description: "How the account is addressed." }),
    masked: Type.String({
      description:
        'The last 4 of the account ("DE****3000", "****6789", "acct_****Xy12"), or "j***@example.com".',
    }),
    holderName: Type.Union([Type.String(), Type.Null()], { description: 'Masked: "J*** D***".' }),
    nameMatch: Type.Enum(["match", "mismatch", "unverified"], {
      description: "Holder name against the verified legal name; `unverified` until identity is verified.",
    }),
    createdAt: Type.String({ format: "date-time" }),
    deletedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  },
  { additionalProperties: false },
);

function methodView({ method, nameMatch }: LinkedPayoutMethod) {
  return {
    id: method.id,
    userId: method.userId,
    type: method.type,
    scheme: schemeOf(method.details),
    masked: method.masked,
    holderName: method.holderName === null ? null : maskName(method.holderName),
    nameMatch,
    createdAt: iso(method.createdAt)!,
    deletedAt: iso(method.deletedAt),
  };
}

/** `POST/GET/DELETE /v1/users/{userId}/payout-methods`: linking, listing (masked) and deleting. */
export function payoutMethodRoutes(app: GiftstreamApp, methods: PayoutMethods): void {
  app.post(
    "/v1/users/:userId/payout-methods",
    {
      config: { userToken: "self" },
      schema: {
        summary: "Link a payout method",
        tags: ["payout methods"],
        params: UserIdParams,
        body: LinkBody,
        response: {
          201: MethodView,
          ...errorResponses(
            "invalid_request",
            "not_found",
            "method_not_allowed",
            "too_many_payout_methods",
            ...authErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      const linked = await methods.link(request.params.userId, request.body);
      return reply.code(201).header("cache-control", "no-store").send(methodView(linked));
    },
  );

  app.get(
    "/v1/users/:userId/payout-methods",
    {
      config: { userToken: "self" },
      schema: {
        summary: "A user's payout methods, masked, oldest first",
        tags: ["payout methods"],
        params: UserIdParams,
        response: {
          200: Type.Object(
            { data: Type.Array(MethodView, { description: "At most payoutMethods.perUserMax." }) },
            { additionalProperties: false },
          ),
          ...errorResponses("not_found", ...authErrors),
        },
      },
    },
    async (request, reply) => {
      const linked = await methods.list(request.params.userId);
      return reply.header("cache-control", "no-store").send({ data: linked.map(methodView) });
    },
  );

  app.delete(
    "/v1/users/:userId/payout-methods/:methodId",
    {
      config: { userToken: "self" },
      schema: {
        summary: "Delete a payout method (a cash-out already in flight still pays to it)",
        tags: ["payout methods"],
        params: MethodParams,
        response: { 200: MethodView, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request, reply) => {
      const { userId, methodId } = request.params;
      const removed = await methods.remove(userId, methodId);
      return reply.header("cache-control", "no-store").send(methodView(removed));
    },
  );
}
