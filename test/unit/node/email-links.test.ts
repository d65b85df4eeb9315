/**
 * The browser link of an invitation message (src/node/email.ts): the relay's viewer by default when the invitation
 * names a relay, the invitation only in the fragment, in the body, the HTML and the mailto: link; none without a relay.
 */
import t from 'tap';
import { Host, VirtualScreen, buildInvitationMessage, relayViewerUrl } from '../../../src/index.js';

t.test('an invitation with a relay: the message and the mailto: link lead with the relay viewer link', async (t) => {
  const host = new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'decline' });
  t.teardown(() => host.close());
  const inv = await host.createInvitation({ expires: '10m', relay: 'wss://relay.example/base' });
  const link = relayViewerUrl('wss://relay.example/base', inv.toURL());
  t.equal(link, `https://relay.example/base/#${encodeURIComponent(inv.toURL())}`);
  for (const method of ['mailto', 'attachment'] as const) {
    const m = buildInvitationMessage(inv, { method });
    t.ok(m.text.includes(`  ${link}\n`), `${method}: the text holds the link on its own line`);
    t.ok(m.text.indexOf(link) < m.text.indexOf('tessera connect'), `${method}: before the command`);
    t.ok(m.html.includes(`href="${link}"`), `${method}: the HTML links it`);
  }
  const uri = decodeURIComponent(inv.mailtoUri());
  t.ok(uri.includes(link), 'the mailto: body holds it');
  t.notOk(buildInvitationMessage(inv, { viewerUrl: false }).text.includes('https://'), 'viewerUrl: false gives none');
  const own = `https://192.0.2.1:8443/#${encodeURIComponent(inv.toURL())}`;
  t.ok(buildInvitationMessage(inv, { viewerUrl: own }).text.includes(own), 'a given link replaces it');
  t.throws(() => buildInvitationMessage(inv, { viewerUrl: `https://192.0.2.1/?i=${encodeURIComponent(inv.toURL())}` }), { code: 'TESSERA_ERR_INVALID_CONFIG', field: 'viewerUrl' }, 'never in the query');
  t.throws(() => buildInvitationMessage(inv, { viewerUrl: 'javascript:alert(1)' }), { code: 'TESSERA_ERR_INVALID_CONFIG', field: 'viewerUrl' });
});

t.test('without a relay or a given link, no browser link', async (t) => {
  const host = new Host({ source: new VirtualScreen({ width: 320, height: 240 }), consent: () => 'decline' });
  t.teardown(() => host.close());
  const inv = await host.createInvitation({ expires: '10m', addresses: ['192.0.2.1:3389'] });
  const m = buildInvitationMessage(inv, { method: 'mailto' });
  t.notMatch(m.text, /https?:\/\//);
  t.match(m.text, /tessera connect 'tessera:\/\/192\.0\.2\.1:3389\//);
});
