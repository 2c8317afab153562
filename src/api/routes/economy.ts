import Type from "typebox";
import type { EconomyCatalog } from "../../economy/catalog.js";
import type { EconomyVersion } from "../../economy/config/versions.js";
import { formatMinor } from "../../money/index.js";
import type { GiftstreamApp } from "../app.js";
import { actorOf } from "../auth.js";
import { errorResponses } from "../problem.js";

const VersionView = Type.Object(
  {
    id: Type.String(),
    effectiveAt: Type.String({ format: "date-time" }),
    createdAt: Type.String({ format: "date-time" }),
    document: Type.Unknown({
      description: "The whole economy document of this version; see docs/economy.md.",
    }),
  },
  { additionalProperties: false },
);

const Country = Type.String({ pattern: "^[A-Z]{2}$", description: "ISO 3166-1 alpha-2" });
const authErrors = ["unauthenticated", "forbidden"] as const;

function versionView(v: EconomyVersion) {
  return {
    id: v.id,
    effectiveAt: new Date(v.effectiveAt).toISOString(),
    createdAt: new Date(v.createdAt).toISOString(),
    document: v.document,
  };
}

/** The admin economy API, and the public price lists and gift catalog it drives. */
export function economyRoutes(app: GiftstreamApp, catalog: EconomyCatalog, clock: () => number): void {
  app.get(
    "/v1/admin/economy",
    {
      config: { scope: "admin" },
      schema: {
        summary: "The economy version in force and those scheduled",
        tags: ["economy"],
        response: {
          200: Type.Object({ inForce: VersionView, scheduled: Type.Array(VersionView) }),
          ...errorResponses(...authErrors),
        },
      },
    },
    async () => {
      const now = clock();
      return { inForce: versionView(catalog.at(now)), scheduled: catalog.scheduled(now).map(versionView) };
    },
  );

  app.post(
    "/v1/admin/economy/versions",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Schedule a new economy version",
        description:
          "`override` is applied onto the version that will be in force at `effectiveAt`: objects merge key by key, arrays (packs, gifts, payout methods) replace. `effectiveAt` may not be in the past.",
        tags: ["economy"],
        body: Type.Object(
          {
            effectiveAt: Type.String({ format: "date-time" }),
            override: Type.Record(Type.String(), Type.Unknown()),
          },
          { additionalProperties: false },
        ),
        response: { 201: VersionView, ...errorResponses("invalid_request", ...authErrors) },
      },
    },
    async (request, reply) => {
      const version = await catalog.schedule(
        Date.parse(request.body.effectiveAt),
        request.body.override,
        actorOf(request.principal),
      );
      return reply.code(201).send(versionView(version));
    },
  );

  app.get(
    "/v1/coin-packs",
    {
      config: { userToken: "any" },
      schema: {
        summary: "The coin packs of a country's price list in force now",
        tags: ["purchases"],
        querystring: Type.Object({ country: Country }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            country: Type.String(),
            currency: Type.String(),
            economyVersion: Type.String(),
            packs: Type.Array(
              Type.Object({
                id: Type.String(),
                coins: Type.String(),
                priceMinor: Type.String({ description: "In minor units of `currency`." }),
              }),
            ),
          }),
          ...errorResponses("invalid_request", "not_found", ...authErrors),
        },
      },
    },
    async (request) => {
      const { version, region } = catalog.region(request.query.country, clock());
      return {
        country: region.country,
        currency: region.currency,
        economyVersion: version.id,
        packs: region.packs.map((p) => ({
          id: p.id,
          coins: formatMinor(p.coins),
          priceMinor: formatMinor(p.priceMinor),
        })),
      };
    },
  );

  app.get(
    "/v1/gifts",
    {
      config: { userToken: "any" },
      schema: {
        summary: "The gift catalog in force now",
        tags: ["gifts"],
        querystring: Type.Object({ country: Type.Optional(Country) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            economyVersion: Type.String(),
            gifts: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.String(),
                coins: Type.String(),
                contexts: Type.Array(Type.String()),
              }),
            ),
          }),
          ...errorResponses("invalid_request", ...authErrors),
        },
      },
    },
    async (request) => {
      const version = catalog.at(clock());
      const country = request.query.country;
      return {
        economyVersion: version.id,
        gifts: version.economy.gifts
          .filter((g) => country === undefined || g.countries === undefined || g.countries.includes(country))
          .map((g) => ({ id: g.id, name: g.name, coins: formatMinor(g.coins), contexts: [...g.contexts] })),
      };
    },
  );
}
