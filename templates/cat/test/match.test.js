import assert from 'node:assert/strict';
import { test } from 'node:test';

import { compileTrigger, compileTriggers, normalize, stripMentions } from '../src/match.js';

test('normalize drops mentions, decodes entities and lower-cases', () => {
  assert.equal(normalize('<@U123ABC>  Hello   <#C1|general> DD &amp; TT'), 'hello dd & tt');
  assert.equal(stripMentions('<@U1>'), '');
  assert.equal(stripMentions(undefined), '');
});

test('an English trigger must be a word of its own', () => {
  const hi = compileTrigger('hi');
  assert.ok(hi(normalize('Hi there')));
  assert.ok(hi(normalize('oh, hi!')));
  assert.ok(!hi(normalize('this is it')));
  assert.ok(!hi(normalize('chips')));
  const deploy = compileTrigger('deploy');
  assert.ok(deploy('kubectl deploy'));
  assert.ok(!deploy('redeploy'), 'redeploy is not deploy');
  assert.ok(compileTrigger('dd')(normalize('DD야 이리 와')), 'a Korean particle may follow');
  assert.ok(compileTrigger('1+1')('what is 1+1?'), 'symbols are escaped');
  assert.ok(!compileTrigger('1+1')('11'), '+ is not a regex quantifier');
  assert.ok(compileTrigger('Good Night')('good night, chuchu'));
});

test('a Korean trigger may be part of a word', () => {
  assert.ok(compileTrigger('밥')(normalize('밥먹자 디디')));
  assert.ok(compileTrigger('디디')(normalize('디디야~')));
  assert.ok(!compileTrigger('사진')(normalize('사 진')));
});

test('any of several triggers', () => {
  const greets = compileTriggers(['hi', 'hello', '안녕']);
  assert.ok(greets('안녕하세요'));
  assert.ok(greets('hello'));
  assert.ok(!greets('bye'));
});
