// Writes sessions through express-session + connect-redis and @fastify/session
// (with the same connect-redis store) against the redis-server at REDIS_URL, by
// real HTTP requests on loopback. Prints one JSON line per session written:
// the key, the cookie the browser got, and what the framework itself reads back.
// Run by ../capture.py; see ../README.md.
import express from "express";
import session from "express-session";
import { RedisStore } from "connect-redis";
import { createClient } from "redis";
import Fastify from "fastify";
import fastifyCookie from "@fastify/cookie";
import fastifySession from "@fastify/session";

const client = createClient({ url: process.env.REDIS_URL });
await client.connect();

const SECRET = "fixture-secret-that-is-long-enough-for-fastify";
const attributes = (req) => ({
  passport: { user: "alice" },
  server: { hostname: "node-web-1" },
  greeting: "ünï 😀 日本",
  visits: 3,
  ratio: 0.25,
  flags: [true, false, null],
  lastLogin: new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 123)),
  cart: { items: [{ sku: "A-1", qty: 2 }], total: 19.9 },
});

function cookieOf(response, name) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair.indexOf("=");
    if (pair.slice(0, at) === name) return pair.slice(at + 1);
  }
  return null;
}

async function express_() {
  const app = express();
  app.use(session({
    store: new RedisStore({ client }),
    secret: SECRET,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 86400000, httpOnly: true },
  }));
  app.get("/login", (req, res) => { Object.assign(req.session, attributes(req)); res.send("ok"); });
  app.get("/read", (req, res) => res.json(req.session));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const first = await fetch(`${base}/login`);
  const cookie = cookieOf(first, "connect.sid");
  const read = await (await fetch(`${base}/read`, { headers: { cookie: `connect.sid=${cookie}` } })).json();
  const id = decodeURIComponent(cookie).slice(2).split(".")[0];
  server.close();
  return { name: "express_login", framework: "express", key: `sess:${id}`, sessionId: id, cookie, readBack: read };
}

async function fastify_() {
  const app = Fastify();
  app.register(fastifyCookie);
  app.register(fastifySession, {
    secret: SECRET,
    store: new RedisStore({ client }),
    saveUninitialized: false,
    cookie: { secure: false, maxAge: 3600000 },
  });
  app.get("/login", async (req) => { for (const [k, v] of Object.entries(attributes(req))) req.session.set(k, v); return "ok"; });
  app.get("/read", async (req) => JSON.parse(JSON.stringify(req.session)));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${app.server.address().port}`;
  const first = await fetch(`${base}/login`);
  const cookie = cookieOf(first, "sessionId");
  const read = await (await fetch(`${base}/read`, { headers: { cookie: `sessionId=${cookie}` } })).json();
  const id = decodeURIComponent(cookie).split(".")[0];
  await app.close();
  return { name: "fastify_login", framework: "fastify", key: `sess:${id}`, sessionId: id, cookie, readBack: read };
}

for (const make of [express_, fastify_]) console.log(JSON.stringify(await make()));
await client.quit();
