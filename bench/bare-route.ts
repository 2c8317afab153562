import Fastify from "fastify";

/** The baseline of bench/gifts-http: a bare Fastify route that parses the same body and answers 201. */
const app = Fastify({ logger: false });
app.post("/v1/gifts/send", async (request, reply) => {
  const body = request.body as { senderId?: string };
  return reply.code(201).send({ ok: true, senderId: body.senderId });
});
const url = await app.listen({ host: "127.0.0.1", port: 0 });
console.log(`LISTENING ${url}`);
process.once("SIGTERM", () => {
  void app.close().then(() => process.exit(0));
});
