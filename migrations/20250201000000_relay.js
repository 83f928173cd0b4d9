/**
 * Regional relay tables: the snapshots received from the global tier (served
 * from disk after a restart with the upstream unreachable) and the durable
 * store-and-forward outbox of registrations and heartbeats.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('relay_resources', (t) => {
    t.string('view_key', 300).notNullable();
    t.string('kind', 16).notNullable();
    t.string('name', 255).notNullable();
    t.string('version', 64).notNullable();
    t.binary('body').notNullable();
    t.primary(['view_key', 'kind', 'name']);
  });

  await knex.schema.createTable('relay_outbox', (t) => {
    t.increments('seq').primary();
    t.string('op', 16).notNullable(); // register | heartbeat | deregister
    t.string('node_id', 63).notNullable();
    t.text('payload').notNullable(); // JSON
    t.bigInteger('created_at').notNullable();
    t.index(['node_id', 'op']);
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTableIfExists('relay_outbox');
  await knex.schema.dropTableIfExists('relay_resources');
};
