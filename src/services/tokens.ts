/**
 * Server tokens: issue (shown once), list, revoke, and authenticate a bearer token to
 * the agent it stands for. Only digests are stored; comparison is constant-time.
 */
import { BatonError } from "../core/errors.js";
import { parseAgent } from "../core/identity.js";
import {
  hashToken,
  isTokenShaped,
  newToken,
  parseRole,
  sameDigest,
  tokenDigest,
  type TokenRecord,
  type TokenRole,
} from "../core/tokens.js";
import type { Store } from "../store/store.js";

/** Who a request is, as its token says. */
export interface Identity {
  readonly agent: string;
  readonly role: TokenRole;
  readonly tokenId: number;
}

/** A token record without its digest, for listings. */
export type TokenInfo = Omit<TokenRecord, "hash">;

const info = ({ hash: _hash, ...rest }: TokenRecord): TokenInfo => rest;

export class TokenService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Issue a token for `agent`. The token text is in the answer only: it is never stored. */
  async add(
    agentInput: string,
    options: { admin?: boolean; readOnly?: boolean } = {},
  ): Promise<{ token: string; record: TokenInfo }> {
    const agent = parseAgent(agentInput);
    const role = parseRole(options);
    const token = newToken();
    const record = await this.#store.addToken({ agent, role, hash: hashToken(token) });
    return { token, record: info(record) };
  }

  /** Every token, revoked ones included (no digests). */
  async list(): Promise<TokenInfo[]> {
    return (await this.#store.listTokens()).map(info);
  }

  /** Revoke a token by its id, or every live token of an agent. */
  async revoke(target: string): Promise<TokenInfo[]> {
    if (/^\d+$/.test(target)) return (await this.#store.revokeTokens({ id: Number(target) })).map(info);
    if (target.trim() === "") throw new BatonError("BAD_INPUT", "revoke needs a token id or an agent name");
    return (await this.#store.revokeTokens({ agent: parseAgent(target) })).map(info);
  }

  /** {@link revoke}, answering `NOT_FOUND` when no live token matched. */
  async revokeMatching(
    target: string,
  ): Promise<
    | { readonly ok: true; readonly revoked: TokenInfo[] }
    | { readonly ok: false; readonly code: "NOT_FOUND"; readonly revoked: TokenInfo[] }
  > {
    const revoked = await this.revoke(target);
    return revoked.length > 0 ? { ok: true, revoked } : { ok: false, code: "NOT_FOUND", revoked };
  }

  /** The identity a bearer token stands for, or null (unknown, revoked or malformed). */
  async authenticate(token: string): Promise<Identity | null> {
    if (!isTokenShaped(token)) return null;
    const digest = tokenDigest(token);
    const record = await this.#store.tokenByHash(digest.toString("hex"));
    if (record === null || !sameDigest(record.hash, digest)) return null;
    return { agent: record.agent, role: record.role, tokenId: record.id };
  }
}
