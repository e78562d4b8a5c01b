/**
 * Bearer tokens for `baton serve`: random (256 bits), shown once, stored only as a
 * SHA-256 digest, compared in constant time. A token decides who an agent is. Pure but
 * for the random source (node:crypto).
 */
import * as crypto from "node:crypto";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { BatonError } from "./errors.js";

/** What a token may do. */
export type TokenRole = "agent" | "admin" | "read-only";

/** A token as stored (never the token itself). */
export interface TokenRecord {
  readonly id: number;
  /** The agent the token acts as. */
  readonly agent: string;
  readonly role: TokenRole;
  /** Hex SHA-256 of the token text. */
  readonly hash: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

const PREFIX = "baton_";
const TOKEN = /^baton_[A-Za-z0-9_-]{43}$/;
/** The length of every token: `baton_` and 43 base64url characters (32 bytes). */
export const TOKEN_LENGTH = PREFIX.length + 43;

/** A new random token (`baton_` + 32 random bytes, base64url). */
export function newToken(): string {
  return PREFIX + randomBytes(32).toString("base64url");
}

/** The digest stored for `token`. */
export function hashToken(token: string): string {
  return tokenDigest(token).toString("hex");
}

/** The SHA-256 digest of `token` as bytes (hex-encode it for the stored form). */
export function tokenDigest(token: string): Buffer {
  // One-shot hashing (`crypto.hash`, Node 20.12+) costs about half a Hash object's
  // instructions, on every request a server authenticates; older Nodes build the object.
  // Looked up here, not at load: the CLI loads node:crypto only when a command uses it.
  const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;
  return oneShot === undefined
    ? createHash("sha256").update(token, "utf8").digest()
    : oneShot("sha256", token, "buffer");
}

/** Whether `token` has the shape of a Baton token (checked before any lookup). */
export function isTokenShaped(token: string): boolean {
  return TOKEN.test(token);
}

/** Constant-time comparison of two digests of equal length (hex text, or `b` as bytes). */
export function sameDigest(a: string, b: string | Buffer): boolean {
  const x = Buffer.from(a, "hex");
  const y = typeof b === "string" ? Buffer.from(b, "hex") : b;
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** Validate a role name. */
export function parseRole(input: { admin?: boolean; readOnly?: boolean }): TokenRole {
  if (input.admin === true && input.readOnly === true) {
    throw new BatonError("BAD_INPUT", "a token is either admin or read-only, not both");
  }
  return input.admin === true ? "admin" : input.readOnly === true ? "read-only" : "agent";
}
