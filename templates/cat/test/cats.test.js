// The characters themselves: this package's own cat.toml (the template in the repository, the
// cat's own in a context written by `catctl context`) and, in the repository, every cats/*/cat.toml.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { Cat, deliver } from '../src/brain.js';
import { parseCharacter } from '../src/character.js';
import { seededRandom } from '../src/random.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const IN_REPOSITORY = basename(dirname(PACKAGE)) === 'templates';
const CATS_DIR = join(PACKAGE, '..', '..', 'cats');
const SEVEN = ['chuchu', 'coco', 'dd', 'lala', 'lulu', 'momo', 'tt'];
const KOREAN = { dd: '디디', tt: '티티', coco: '코코', momo: '모모', chuchu: '츄츄', lulu: '루루', lala: '라라' };

/** The template's cat.toml is a minijinja template rendered by `catctl copycat` with `name`. */
function render(text, name) {
  return text.replaceAll('{{ name }}', name);
}

/** Where cat `name`'s cat.toml is: cats/ in the repository, or this package's own in its context. */
function catFile(name) {
  if (IN_REPOSITORY) return join(CATS_DIR, name, 'cat.toml');
  const own = join(PACKAGE, 'cat.toml');
  const text = readFileSync(own, 'utf8');
  return text.includes('{{') || parseCharacter(text, own).name !== name ? null : own;
}

function loadCat(name, seed = 1) {
  const file = catFile(name);
  return new Cat(parseCharacter(readFileSync(file, 'utf8'), file), { random: seededRandom(seed) });
}

/** Runs a cat's tests where its cat.toml is at hand. */
const about = (name) => ({ skip: catFile(name) === null && `${name}'s cat.toml is not here` });

const talk = (cat, text, user = 'U1') => cat.respond({ channel: 'C1', user, text: `<@UBOT> ${text}` });

test("this package's cat.toml is a valid character", () => {
  const file = join(PACKAGE, 'cat.toml');
  const text = readFileSync(file, 'utf8');
  const character = parseCharacter(render(text, 'kitty'), file);
  const cat = new Cat(character);
  assert.equal(talk(cat, 'hi').kind, 'greeting');
  assert.equal(talk(cat, '안녕').kind, 'greeting');
  assert.equal(talk(cat, character.name).kind, 'greeting', 'the cat knows its name');
  assert.equal(talk(cat, '사진').kind, 'picture');
});

test('the repository has the seven cats', { skip: !IN_REPOSITORY && 'not in the catctl repository' }, () => {
  const cats = readdirSync(CATS_DIR).filter((name) => existsSync(join(CATS_DIR, name, 'cat.toml')));
  assert.deepEqual(cats.sort(), SEVEN);
});

for (const name of SEVEN) {
  test(`${name}: loads, greets in English and Korean, shows its picture`, about(name), () => {
    const cat = loadCat(name);
    assert.equal(cat.name, name);
    for (const greeting of ['hi', 'Hello', name, KOREAN[name], '안녕', '']) {
      assert.equal(talk(cat, greeting, `U-${greeting}`)?.kind, 'greeting', `${name} answers ${JSON.stringify(greeting)}`);
    }
    for (const word of ['사진', 'photo']) {
      assert.match(talk(cat, word).text, /^https:\/\/\S+\.png$/, `${name} shows a picture for ${word}`);
    }
  });
}

test('DD comes late when called to eat, and pretends not to hear', about('dd'), async (t) => {
  const dd = loadCat('dd');
  const food = talk(dd, '디디야 밥 먹자');
  assert.equal(food.label, 'food');
  assert.ok(food.delayMs >= 5000, 'DD takes her time');
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const sent = [];
  const done = deliver(food, async (text) => sent.push(text));
  t.mock.timers.tick(food.delayMs - 1);
  await Promise.resolve();
  assert.deepEqual(sent, []);
  t.mock.timers.tick(1);
  await done;
  assert.equal(sent.length, 1);
  assert.equal(talk(dd, 'dd, come here!').label, 'called');
});

test('TT cries, and TT candy soothes her', about('tt'), () => {
  const tt = loadCat('tt');
  assert.match(talk(tt, 'tt').text, /ㅠㅠ/);
  assert.match(talk(tt, '왜 울어?').text, /ㅠ|TT/);
  assert.match(talk(tt, 'TT candy!').text, /그쳤다/);
});

test('CoCo answers 입! and wants to play', about('coco'), () => {
  const coco = loadCat('coco');
  assert.match(talk(coco, '코코').text, /^입!/);
  assert.match(talk(coco, 'coco').text, /^입!/);
  assert.match(talk(coco, '놀자').text, /^입!/);
});

test('MoMo repeats whatever you answer', about('momo'), () => {
  const momo = loadCat('momo');
  assert.equal(talk(momo, '모모야 말해 봐').kind, 'ask');
  assert.deepEqual(talk(momo, '흥칫뿡'), { kind: 'answer', label: 'copycat', text: '흥칫뿡', delayMs: 0 });
});

test('LuLu is only sometimes smart', about('lulu'), () => {
  const answers = (seed) => {
    const lulu = loadCat('lulu', seed);
    return Array.from({ length: 30 }, () => talk(lulu, '1+1 quiz').text);
  };
  const replies = answers(3);
  assert.deepEqual(replies, answers(3), 'seeded: the same LuLu twice');
  const smart = replies.filter((reply) => reply.startsWith('2!')).length;
  assert.ok(smart > 0 && smart < replies.length, `smart ${smart} times out of ${replies.length}`);
});

test('LaLa asks what you forgot and answers with the commands', about('lala'), () => {
  const lala = loadCat('lala');
  assert.match(talk(lala, 'lala').text, /Arr/, 'a pirate');
  const question = talk(lala, 'docker 명령어 까먹었어');
  assert.equal(question.kind, 'ask');
  assert.match(question.text, /뭘 까먹었냥/);
  const answer = talk(lala, 'build');
  assert.equal(answer.kind, 'answer');
  assert.match(answer.text, /catctl build lala/);
  assert.match(answer.text, /docker build/);
  assert.match(talk(lala, 'kubectl logs').text, /catctl logs lala -f/, 'asked and answered at once');
  assert.match(talk(lala, 'kubectl create secret').text, /catctl secret sync/);
  assert.match(talk(lala, 'kubectl rollout restart?').text, /catctl redeploy lala/);
  talk(lala, 'help');
  assert.match(talk(lala, 'fish').text, /해도에 없다/);
});

test("LaLa knows every one of today's catctl commands", about('lala'), () => {
  const lala = loadCat('lala');
  const asked = {
    copycat: 'catctl copycat', build: 'catctl build', push: 'catctl push', deploy: 'catctl deploy',
    redeploy: 'catctl redeploy', status: 'catctl status', logs: 'catctl logs', rollback: 'catctl rollback',
    'secret sync': 'catctl secret sync',
  };
  for (const [word, command] of Object.entries(asked)) {
    assert.ok(talk(lala, `catctl ${word}?`).text.includes(command), `${word} → ${command}`);
  }
});
