// The Extra Horizon JavaScript SDK's OAuth1 client, unchanged, against the
// sandbox: prints what it got as JSON for tests/sandbox_js_sdk.rs.
//
// Environment: API_HOST (http://localhost:PORT: the SDK uses hosts that
// contain "localhost" as they are), API_OAUTH_CONSUMER_KEY,
// API_OAUTH_CONSUMER_SECRET, API_OAUTH_TOKEN, API_OAUTH_TOKEN_SECRET.
import { createOAuth1Client, rqlBuilder } from '@extrahorizon/javascript-sdk';

const client = (tokenSecret) => createOAuth1Client({
  host: process.env.API_HOST,
  consumerKey: process.env.API_OAUTH_CONSUMER_KEY,
  consumerSecret: process.env.API_OAUTH_CONSUMER_SECRET,
  token: process.env.API_OAUTH_TOKEN,
  tokenSecret,
});

const exh = client(process.env.API_OAUTH_TOKEN_SECRET);
const result = {};
result.me = await exh.users.me();
result.page = await exh.users.find({
  rql: rqlBuilder().select(['id', 'email']).limit(10, 20).build(),
});
result.dutch = (await exh.raw.get('/users/v1/?eq(language,NL)&limit(3)')).data;
result.created = await exh.data.documents.create('blood-pressure', {
  systolic: 118, diastolic: 76, note: 'ça va + 100%',
});
result.updated = await exh.data.documents.update('blood-pressure', result.created.id, { note: 'ok' });
result.removed = await exh.data.documents.remove('blood-pressure', result.created.id);
try {
  await client('not-the-token-secret').users.me();
  result.wrongSecret = 'accepted';
} catch (error) {
  result.wrongSecret = { name: error.name, status: error.status, message: error.message };
}
console.log(JSON.stringify(result));
