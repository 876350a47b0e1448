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
const REPO = join(PACKAGE, '..', '..');
const CATS_DIR = join(REPO, 'cats');
const KOREAN = { dd: '디디', tt: '티티', coco: '코코', momo: '모모', chuchu: '츄츄', lulu: '루루', lala: '라라' };
const STORY = Object.keys(KOREAN);

/** The template's cat.toml is a minijinja template rendered by `catctl copycat` with `name`. */
function render(text, name) {
  return text.replaceAll('{{ name }}', name);
}

/**
 * Every cat at hand, whatever their number: cats/*\/cat.toml in the repository (none when
 * templates/ is used alone), or this package's own cat.toml in a context written by
 * `catctl context CAT`. Name → file.
 */
function catsAtHand() {
  const cats = new Map();
  if (IN_REPOSITORY) {
    if (!existsSync(CATS_DIR)) return cats;
    for (const name of readdirSync(CATS_DIR).sort()) {
      const file = join(CATS_DIR, name, 'cat.toml');
      if (existsSync(file)) cats.set(name, file);
    }
    return cats;
  }
  const own = join(PACKAGE, 'cat.toml');
  const text = readFileSync(own, 'utf8');
  if (!text.includes('{{')) cats.set(parseCharacter(text, own).name, own);
  return cats;
}

const CATS = catsAtHand();

function loadCat(name, seed = 1) {
  const file = CATS.get(name);
  return new Cat(parseCharacter(readFileSync(file, 'utf8'), file), { random: seededRandom(seed) });
}

/** Runs a cat's tests where its cat.toml is at hand. */
const about = (name) => ({ skip: !CATS.has(name) && `${name}'s cat.toml is not here` });

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

const TEMPLATE_TEXT = readFileSync(join(PACKAGE, 'cat.toml'), 'utf8');
const isTemplate = { skip: !TEMPLATE_TEXT.includes('{{ name }}') && "this package's cat.toml is a cat's own, not the template" };

test('a cat made from the template (an eighth cat) passes the same checks as the others', isTemplate, () => {
  const text = render(readFileSync(join(PACKAGE, 'cat.toml'), 'utf8'), 'nabi');
  const cat = new Cat(parseCharacter(text, 'cats/nabi/cat.toml'));
  assert.equal(cat.name, 'nabi');
  assert.equal(talk(cat, 'hi').kind, 'greeting');
  assert.ok(talk(cat, 'nabi'), 'answers its name');
});

// Every cat at hand, however many: named after its directory, says something to each of its
// greeting words and to its name, and shows its picture.
for (const [name, file] of CATS) {
  test(`${name}: loads, answers its greetings and its name, shows its picture`, () => {
    const character = parseCharacter(readFileSync(file, 'utf8'), file);
    if (IN_REPOSITORY) assert.equal(character.name, name, `${file}: character.name is the directory's name`);
    const cat = loadCat(name);
    assert.equal(talk(cat, '', 'U-bare').kind, 'greeting', 'a bare mention is a greeting');
    for (const word of character.greetingTriggers) {
      assert.ok(talk(cat, word, `U-${word}`), `${name} answers ${JSON.stringify(word)}`);
    }
    assert.equal(talk(cat, 'hi', 'U-hi').kind, 'greeting', `${name} answers "hi" with its greeting`);
    assert.ok(talk(cat, name, 'U-name'), `${name} answers its name`);
    if (character.picture !== null) {
      for (const word of character.pictureTriggers) {
        assert.equal(talk(cat, word).text, character.picture, `${name} shows its picture for ${word}`);
      }
    }
  });
}

// The seven of the story, where they are at hand.
for (const name of STORY) {
  test(`${name}: says meow to "hi", and knows its Korean name`, about(name), () => {
    const cat = loadCat(name);
    assert.match(talk(cat, 'hi').text, /meow/i, 'hi 라고 인사하면 모든 고양이가 meow라고 인사해줍니다');
    assert.ok(talk(cat, KOREAN[name]), `${name} answers ${KOREAN[name]}`);
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

test('CoCo says 입! when called by name, and meow to everyone else', about('coco'), () => {
  const coco = loadCat('coco');
  for (const call of ['코코', 'coco', '코코야!', 'CoCo', 'hi coco']) {
    assert.match(talk(coco, call).text, /^입!/, `called: ${call}`);
  }
  for (const greeting of ['hi', 'hello', '안녕', '']) {
    const reply = talk(coco, greeting);
    assert.equal(reply.kind, 'greeting', greeting);
    assert.doesNotMatch(reply.text, /입!/, `not to ${JSON.stringify(greeting)}`);
  }
  assert.match(talk(coco, '놀자').text, /^입!/, 'and wants to play');
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

const CLI = join(REPO, 'src', 'cli.rs');
const kebab = (camel) => camel.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** catctl's commands and long options, read from its clap definitions in src/cli.rs. */
function catctlCommands() {
  const source = readFileSync(CLI, 'utf8');
  const variants = (enumName) => {
    const body = source.split(`pub enum ${enumName} {`)[1].split('\n}')[0];
    return [...body.matchAll(/^\s{4}([A-Z][A-Za-z]*)\s*[({,]/gm)].map((match) => kebab(match[1]));
  };
  const options = new Set([...source.matchAll(/pub (\w+):/g)].map((match) => `--${match[1].replaceAll('_', '-')}`));
  for (const match of source.matchAll(/long = "([\w-]+)"/g)) options.add(`--${match[1]}`);
  return { commands: new Set(variants('Command')), secret: new Set(variants('SecretCommand')), options };
}

// Real docker and kubectl subcommands LaLa may name.
const DOCKER = new Set(['build', 'images', 'ps', 'push', 'pull', 'rmi', 'run', 'stop', 'rm', 'logs', 'tag', 'login', 'inspect']);
const KUBECTL = new Set(['get', 'describe', 'logs', 'apply', 'create', 'delete', 'scale', 'rollout', 'exec', 'edit', 'diff']);
const ROLLOUT = new Set(['status', 'history', 'undo', 'restart', 'pause', 'resume']);

/** Every command LaLa says, from the `code spans` of her question, replies and answers. */
function lalaCommands() {
  const lala = loadCat('lala').character;
  const texts = lala.rules.flatMap((rule) => [
    rule.ask ?? '', ...(rule.replies ?? []), ...(rule.otherwise ?? []), ...rule.answers.flatMap((a) => a.replies),
  ]);
  return texts
    .flatMap((text) => [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1]))
    .flatMap((span) => span.split(/\s*&&\s*/))
    .map((command) => command.trim().split(/\s+/))
    .filter((words) => ['catctl', 'docker', 'kubectl'].includes(words[0]));
}

test('LaLa names only commands that exist: catctl (src/cli.rs), docker, kubectl', {
  ...about('lala'),
  skip: about('lala').skip || (!existsSync(CLI) && 'src/cli.rs is not here'),
}, () => {
  const catctl = catctlCommands();
  assert.ok(catctl.commands.has('deploy') && catctl.secret.has('sync'), 'src/cli.rs was read');
  const said = lalaCommands();
  assert.ok(said.length >= 20, `LaLa knows many commands (${said.length})`);
  for (const [tool, sub, ...rest] of said) {
    const line = [tool, sub, ...rest].join(' ');
    if (tool === 'catctl') {
      assert.ok(catctl.commands.has(sub), `\`${line}\`: catctl has no command ${sub}`);
      if (sub === 'secret') assert.ok(catctl.secret.has(rest[0]), `\`${line}\`: no catctl secret ${rest[0]}`);
      for (const option of rest.filter((word) => word.startsWith('--'))) {
        assert.ok(catctl.options.has(option.split('=')[0]), `\`${line}\`: catctl has no option ${option}`);
      }
    } else if (tool === 'docker') {
      assert.ok(DOCKER.has(sub), `\`${line}\`: not a docker command`);
    } else {
      assert.ok(KUBECTL.has(sub), `\`${line}\`: not a kubectl command`);
      if (sub === 'rollout') assert.ok(ROLLOUT.has(rest[0]), `\`${line}\`: not a kubectl rollout command`);
    }
  }
});
