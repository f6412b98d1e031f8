import { SignJWT, jwtVerify } from 'jose';

/**
 * User tokens let a frontend read its own user's profile and recommendations with only a
 * publishable key: an HS256 JWT whose `sub` is the userId, signed by the server that knows the
 * signing secret (Tributary's `userToken` field, or the tracker's `signUserToken` on your server).
 */
export const USER_TOKEN_ISSUER = 'tributary';
export const USER_TOKEN_AUDIENCE = 'tributary-user';
export const USER_TOKEN_MIN_TTL_SECONDS = 60;
export const USER_TOKEN_MAX_TTL_SECONDS = 7 * 86400;
/** A token is at most this long, so a forged giant header costs nothing to refuse. */
const MAX_TOKEN_LENGTH = 2048;

const keyOf = (secret: string): Uint8Array => new TextEncoder().encode(secret);

export async function signUserToken(
  secret: string,
  userId: string,
  ttlSeconds: number,
  now = new Date(),
): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(USER_TOKEN_ISSUER)
    .setAudience(USER_TOKEN_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ttlSeconds)
    .sign(keyOf(secret));
}

/** The token's userId, or undefined when it is forged, expired, malformed or for someone else. */
export async function verifyUserToken(
  secret: string,
  token: string,
  now = new Date(),
): Promise<string | undefined> {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), {
      algorithms: ['HS256'],
      issuer: USER_TOKEN_ISSUER,
      audience: USER_TOKEN_AUDIENCE,
      currentDate: now,
      requiredClaims: ['sub', 'exp'],
    });
    return typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}
