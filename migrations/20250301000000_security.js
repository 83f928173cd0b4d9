/**
 * Security (issue #13): join tokens (enrollment), API tokens (REST
 * credentials) and revocations. Secrets are never stored: only the SHA-256 of
 * the random part of each token (`secret_hash`, hex); `id` is the public part
 * of the token (logs, listings, revocation by id). Times are epoch ms.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('join_tokens', (t) => {
    t.string('id', 32).primary();
    t.string('secret_hash', 64).notNullable();
    t.string('kind', 8).notNullable(); // node | relay
    t.string('node_id', 63).notNullable(); // the id, or the id prefix when is_prefix
    t.boolean('is_prefix').notNullable().defaultTo(false);
    t.integer('uses_left').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('revoked_at').nullable();
    t.bigInteger('last_used_at').nullable();
    t.string('description', 200).notNullable().defaultTo('');
    t.index(['kind', 'node_id']);
  });

  await knex.schema.createTable('api_tokens', (t) => {
    t.string('id', 32).primary();
    t.string('secret_hash', 64).notNullable();
    t.string('role', 8).notNullable(); // admin | read | node
    t.string('node_id', 63).nullable(); // role node only
    t.bigInteger('expires_at').nullable(); // null: no expiry
    t.bigInteger('created_at').notNullable();
    t.bigInteger('revoked_at').nullable();
    t.string('description', 200).notNullable().defaultTo('');
    t.index(['role', 'node_id']);
  });

  // An identity revoked at revoked_at: certificates with notBefore at or
  // before it are refused; its tokens were revoked at the same time.
  await knex.schema.createTable('revoked_identities', (t) => {
    t.string('kind', 8).notNullable(); // node | relay
    t.string('id', 63).notNullable();
    t.bigInteger('revoked_at').notNullable();
    t.primary(['kind', 'id']);
  });

  // Single certificates revoked by serial (normalized lowercase hex).
  await knex.schema.createTable('revoked_certificates', (t) => {
    t.string('serial', 64).primary();
    t.bigInteger('revoked_at').notNullable();
    t.bigInteger('not_after').nullable(); // when the row may be pruned
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTableIfExists('revoked_certificates');
  await knex.schema.dropTableIfExists('revoked_identities');
  await knex.schema.dropTableIfExists('api_tokens');
  await knex.schema.dropTableIfExists('join_tokens');
};
