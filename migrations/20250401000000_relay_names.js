/**
 * Security (issue #13): a relay's join token says which DNS names and IPs its
 * certificate may carry (the relay serves nodes over TLS at those addresses).
 * Decided by the operator who creates the token, never by the CSR.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('join_tokens', (t) => {
    t.string('sans', 2000).notNullable().defaultTo(''); // comma-separated DNS names and IPs; relays only
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('join_tokens', (t) => {
    t.dropColumn('sans');
  });
};
