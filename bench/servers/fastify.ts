/** Baseline: a bare fastify route answering the same JSON as GET /api/v1/lockers/{id}, from memory. */
import Fastify from 'fastify';

const body = JSON.parse(process.argv[3] ?? '{}');
const app = Fastify({ logger: false });
app.get('/api/v1/lockers/:id', async () => body);
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
console.log('listening');
process.on('SIGTERM', () => process.exit(0));
