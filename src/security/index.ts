/**
 * Security (issue #13): the deployment CA, SPIFFE-style identities,
 * certificate issuance, join and API tokens, revocation. A library: the
 * server, REST API and CLI wire it in (docs/SECURITY.md says what is wired).
 * Imports only domain (id rules) and observability.
 */
export { loadOrCreateCa, loadCa, loadCaFiles, createCaPem, normalizeSerial, CaError, CA_CERT_FILE, CA_KEY_FILE } from './ca';
export type { Ca, LoadOrCreateCaOptions, LoadCaOptions } from './ca';
export { identityUri, parseIdentity, identityOf, trustDomainUri, isTrustDomain, checkTrustDomain, isIdentity } from './identity';
export type { Identity, IdentityKind, CertificateInput } from './identity';
export { issueFromCsr, issueServerCert, makeKeyAndCsr, verifyCsr, IssueError, DEFAULT_CERT_TTL_MS, DEFAULT_SERVER_CERT_TTL_MS, DEFAULT_BACKDATE_MS, MAX_CSR_BYTES } from './issue';
export type { IssuedCertificate, IssueOptions, ServerCertOptions } from './issue';
export { TokenStore, RevocationList, TokenError, parseToken, tokenId, parseApiRole, JOIN_TOKEN_PREFIX, API_TOKEN_PREFIX, DEFAULT_JOIN_TTL_MS, DEFAULT_JOIN_USES } from './tokens';
export type {
  ApiRole,
  Principal,
  RedeemResult,
  RedeemFailureReason,
  AuthResult,
  AuthFailureReason,
  CreateJoinTokenOptions,
  CreateApiTokenOptions,
  JoinTokenInfo,
  ApiTokenInfo,
} from './tokens';
export { Guard, EnrollError, writeSecretFile } from './guard';
export type { GuardEvent, GuardOptions, ServerTls, EnrollRequest, EnrollResult } from './guard';
export { CredentialBook, ReplicaAuthenticator, describeCaller, parseCredentialSnapshot } from './book';
export type { Authenticator, Caller, AuthChannel, DenialReason, Denial, AuthOutcome, PeerCertificateInput, DenialContext, SecurityEvent, CredentialSnapshot } from './book';
