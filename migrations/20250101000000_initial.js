/**
 * Initial schema of the edge-xds registry. Plain knex schema builder so the
 * same migration runs on SQLite and PostgreSQL.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('nodes', (t) => {
    t.string('id', 63).primary();
    t.string('role', 16).notNullable();
    t.string('region', 63).notNullable();
    t.string('zone', 63).notNullable();
    t.string('sub_zone', 63).notNullable().defaultTo('');
    t.double('lat').notNullable();
    t.double('lon').notNullable();
    t.string('address', 64).notNullable();
    t.text('labels').notNullable(); // JSON object
    t.text('capacity').notNullable(); // JSON object
    t.string('state', 16).notNullable();
    t.bigInteger('drain_until').nullable();
    t.bigInteger('registered_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['region', 'zone']);
  });

  await knex.schema.createTable('node_services', (t) => {
    t.string('node_id', 63).notNullable().references('id').inTable('nodes').onDelete('CASCADE');
    t.string('name', 63).notNullable();
    t.integer('port').notNullable();
    t.string('protocol', 8).notNullable();
    t.primary(['node_id', 'name']);
    t.index(['name']);
  });

  await knex.schema.createTable('node_heartbeats', (t) => {
    t.string('node_id', 63).primary().references('id').inTable('nodes').onDelete('CASCADE');
    t.bigInteger('at').notNullable();
    // latest raw values (null = not reported in the latest heartbeat)
    t.double('load_cpu').nullable();
    t.double('load_memory').nullable();
    t.double('load_network').nullable();
    t.double('net_latency_ms').nullable();
    t.double('net_jitter_ms').nullable();
    t.double('net_packet_loss').nullable();
    // exponentially weighted moving averages
    t.double('ewma_cpu').notNullable();
    t.double('ewma_memory').notNullable();
    t.double('ewma_network').notNullable();
    t.double('ewma_latency_ms').notNullable();
    t.double('ewma_jitter_ms').notNullable();
    t.double('ewma_packet_loss').notNullable();
    t.integer('samples').notNullable();
  });

  await knex.schema.createTable('events', (t) => {
    t.increments('seq').primary();
    t.bigInteger('at').notNullable();
    t.string('node_id', 63).notNullable(); // no FK: events outlive their node
    t.string('type', 16).notNullable();
    t.text('detail').notNullable(); // JSON object
    t.index(['node_id']);
  });

  await knex.schema.createTable('kv', (t) => {
    t.string('key', 128).primary();
    t.text('value').notNullable(); // JSON
    t.bigInteger('updated_at').notNullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTableIfExists('kv');
  await knex.schema.dropTableIfExists('events');
  await knex.schema.dropTableIfExists('node_heartbeats');
  await knex.schema.dropTableIfExists('node_services');
  await knex.schema.dropTableIfExists('nodes');
};
