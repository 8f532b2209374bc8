"""One study lived day by day: enrolment, then each day's measurements, doses, observations,
terminations and samples.

The simulation keeps each animal's hidden biological state (true tumour volume, lean body weight,
sensitivity to the compound) and *records* only what a technician would: caliper width and length,
a weighed body weight, a dose computed from that weight. ``step()`` advances one day and is the only
way time moves, so a later "advance the world one day" is one more ``step()``.

Biology, kept simple but recognisable in the reports:
- tumours grow exponentially from ~125 mm³ at randomisation (control k from the tumour model);
  treated groups grow slower with dose, a low dose behaves like vehicle, the top dose regresses;
- body weight drifts up, carries the tumour's mass, and falls in the high-dose groups;
- humane endpoints end an animal: tumour ≥ 2000 mm³, body-weight loss ≥ 20 %, moribund,
  ulceration, or (rarely) found dead; nothing is recorded for it afterwards;
- doses follow the dose arithmetic exactly and are held while body-weight loss is ≥ 15 %.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from invivo_pipeline.sources.invivo.simulator.generate import vocab
from invivo_pipeline.sources.invivo.simulator.generate.design import DOSE_VOLUME_ML_KG, technicians
from invivo_pipeline.sources.invivo.simulator.generate.entities import (
    Animal,
    Cage,
    Dosage,
    Measurement,
    Observation,
    Sample,
    Study,
    StudyGroup,
    Termination,
    Treatment,
    User,
)
from invivo_pipeline.sources.invivo.simulator.generate.ids import IdSource, stream
from invivo_pipeline.sources.invivo.simulator.generate.numbers import (
    fmt_fixed,
    to_fixed,
    tumour_dimensions,
    tumour_volume,
)
from invivo_pipeline.sources.invivo.simulator.generate.tenant import Tenant

TUMOUR_ENDPOINT_MM3 = 2000
BW_ENDPOINT = 0.20
BW_DOSE_HOLIDAY = 0.15
ANIMALS_PER_CAGE = 5


@dataclass(eq=False, slots=True)
class AnimalState:
    """What the animal *is*; the records only show what was measured."""

    animal: Animal
    order: int
    volume: float
    ratio: float
    growth: float
    regresses: bool
    lean_weight: float
    weight_trend: float
    toxicity: float
    baseline_weight: int = 0
    weight_tenths: int = 0
    """Last weighed body weight in tenths of a gram."""
    """Day-0 body weight in tenths of a gram."""
    alive: bool = True
    doses: int = 0


class StudySimulation:
    def __init__(self, study: Study, tenant: Tenant, animals: int) -> None:
        self.study = study
        self.tenant = tenant
        self.rng = stream(tenant.seed, "study", study.index, "biology")
        self.ids = IdSource(tenant.seed, "study", study.index, "records")
        self.states: list[AnimalState] = []
        self.day = 0
        self._samples = 0
        self._techs = technicians(study) or [study.owner]
        self._reason = {
            t: tenant.glossary_item("euthanize_reasons", t) for t in vocab.EUTHANASIA_REASONS
        }
        self._observation = {
            t: tenant.glossary_item("observations", t) for t in vocab.OBSERVATION_TITLES
        }
        if study.started_on is not None and animals > 0:
            self._enrol(animals)

    # ----------------------------------------------------------------- enrolment
    def _enrol(self, count: int) -> None:
        study, rng = self.study, self.rng
        assert study.started_on is not None
        oncology = study.kind == "oncology"
        model = vocab.TUMOUR_MODELS[study.index % len(vocab.TUMOUR_MODELS)] if oncology else None
        strain = self.tenant.strain(model.strain if model else "Sprague Dawley")
        groups = study.groups
        sizes = [
            count // len(groups) + (1 if g < count % len(groups) else 0) for g in range(len(groups))
        ]
        for group, size in zip(groups, sizes, strict=True):
            group.max_animals = size

        # Randomise on tumour volume: rank the animals and deal them out in a snake so every group
        # starts with about the same mean volume (what a randomisation module does).
        initial = sorted(
            (min(250.0, max(60.0, rng.lognormvariate(math.log(125), 0.22))) for _ in range(count)),
            reverse=True,
        )
        members: list[list[float]] = [[] for _ in groups]
        snake = itertools.cycle([*range(len(groups)), *reversed(range(len(groups)))])
        for volume in initial:
            g = next(snake)
            while len(members[g]) >= sizes[g]:
                g = next(snake)
            members[g].append(volume)

        base_growth = model.growth_rate * rng.uniform(0.9, 1.1) if model else 0.0
        treated = len(groups) - 1
        enrolled_at = datetime.combine(study.started_on - timedelta(days=1), time(14))
        number = 0
        room = ("Room 101", "Room 102", "Room 214")[study.index % 3]
        for group, volumes in zip(groups, members, strict=True):
            sexes = (
                ["f"] * len(volumes)
                if oncology
                else ["m" if i % 2 == 0 else "f" for i in range(len(volumes))]
            )
            if not oncology:
                sexes.sort(key=lambda s: s != "m")
            # Cages hold up to five animals of one group and, for rats, one sex.
            cage: Cage | None = None
            housed = 0
            for i, (volume, sex) in enumerate(zip(volumes, sexes, strict=True)):
                if cage is None or housed == ANIMALS_PER_CAGE or sex != sexes[i - 1]:
                    cage, housed = self._new_cage(room, enrolled_at), 0
                housed += 1
                number += 1
                animal = self._new_animal(
                    number, group, cage, sex, strain.name, strain.species.name, model, enrolled_at
                )
                study.animals.append(animal)
                self.states.append(self._initial_state(animal, group, volume, base_growth, treated))

    def _new_cage(self, room: str, at: datetime) -> Cage:
        study = self.study
        n = len(study.cages) + 1
        cage = Cage(
            id=self.ids.new("cge"),
            study=study,
            name=f"{study.code}-C{n:02d}",
            catalog=f"C{study.index + 1:03d}{n:03d}",
            metadata={
                "cage-internal-id": f"CAGE-{study.index + 1:04d}-{n:02d}",
                "housing-room": room,
            },
            created_at=at + timedelta(seconds=n, microseconds=self.rng.randrange(10**6)),
        )
        study.cages.append(cage)
        return cage

    def _new_animal(
        self,
        number: int,
        group: StudyGroup,
        cage: Cage,
        sex: str,
        strain: str,
        species: str,
        model: vocab.TumourModel | None,
        at: datetime,
    ) -> Animal:
        study, rng = self.study, self.rng
        assert study.started_on is not None
        weeks = rng.randint(7, 9) if model else rng.randint(6, 7)
        created = at + timedelta(seconds=30 + 20 * number, microseconds=rng.randrange(10**6))
        return Animal(
            id=self.ids.new("aml"),
            study=study,
            group=group,
            cage=cage,
            catalog=f"A{study.index + 1:03d}{number:04d}",
            name=f"{study.code}-{number:03d}",
            number=number,
            strain=strain,
            species=species,
            sex=sex,
            dob=study.started_on - timedelta(days=7 * weeks + rng.randrange(7)),
            tail=f"T{number:03d}",
            ear=f"R{number % 4}L{number // 4 % 4}",
            tag=f"900{study.index + 1:06d}{number:06d}",
            donor=f"PDX-{model.name.split()[0]}-P{rng.randint(3, 6)}"
            if model and model.donor
            else None,
            tracking_date=study.started_on,
            disease_induction_date=study.started_on - timedelta(days=rng.randint(10, 14))
            if model
            else None,
            metadata={
                "animal-internal-id": f"ANM-{study.index + 1:04d}-{number:03d}",
                "vendor": ("Charles River", "The Jackson Laboratory", "Envigo")[
                    (study.index + number // 20) % 3
                ],
            },
            created_at=created,
            updated_at=created,
        )

    def _initial_state(
        self, animal: Animal, group: StudyGroup, volume: float, base_growth: float, treated: int
    ) -> AnimalState:
        rng = self.rng
        level = group.level
        regresses = level == treated and treated >= 2 and base_growth > 0 and group.efficacy is None
        if level == 0 or base_growth == 0:
            efficacy = 0.0
        elif group.efficacy is not None:
            efficacy = group.efficacy
        elif treated == 1:
            efficacy = 0.6
        else:
            # Level 1 is a no-effect dose (vehicle-like); then increasing inhibition.
            efficacy = 0.05 if level == 1 else 0.35 + 0.5 * (level - 2) / max(1, treated - 2)
        efficacy = min(0.98, max(0.0, efficacy + rng.gauss(0, 0.08))) if efficacy else 0.0
        growth = base_growth * rng.lognormvariate(0, 0.12) * (1 - efficacy)
        if regresses:
            growth = -rng.uniform(0.02, 0.05)
        sensitivity = rng.lognormvariate(0, 0.45)
        oncology = self.study.kind == "oncology"
        top, second = level == treated and level > 0, level == treated - 1 and level > 0
        if oncology:
            lean = rng.gauss(20.0, 1.1) if animal.sex == "f" else rng.gauss(24.0, 1.4)
            trend = rng.gauss(0.0015, 0.0005)
            toxicity = -0.009 * sensitivity if top else (-0.002 * sensitivity if second else 0.0)
        else:
            lean = rng.gauss(260.0, 12.0) if animal.sex == "m" else rng.gauss(190.0, 9.0)
            trend = rng.gauss(0.008 if animal.sex == "m" else 0.005, 0.001)
            toxicity = -0.012 * sensitivity if top else (-0.004 * sensitivity if second else 0.0)
        return AnimalState(
            animal=animal,
            order=len(self.states),
            volume=volume if oncology else 0.0,
            ratio=rng.uniform(1.15, 1.6),
            growth=growth,
            regresses=regresses,
            lean_weight=lean,
            weight_trend=trend,
            toxicity=toxicity,
        )

    # ----------------------------------------------------------------- time
    @property
    def today(self) -> date:
        assert self.study.started_on is not None
        return self.study.started_on + timedelta(days=self.day)

    def run(self, days: int) -> None:
        for _ in range(days):
            self.step()

    def step(self) -> None:
        """Live one more study day for every animal still on study."""
        if self.study.started_on is None:
            return
        day, today = self.day, self.today
        tech = self._techs[day % len(self._techs)]
        doser = self._techs[(day + 1) % len(self._techs)]
        for state in self.states:
            if state.alive:
                self._animal_day(state, day, today, tech, doser)
        self.day += 1

    def close(self) -> None:
        """End the study: survivors of a completed study go to scheduled necropsy; a canceled
        study's survivors are taken off study with no samples."""
        if self.study.started_on is None or self.day == 0:
            return
        last = self.study.started_on + timedelta(days=self.day - 1)
        if self.study.status == "completed":
            reason, comment, survivor, samples = (
                "Scheduled sacrifice",
                "Scheduled end-of-study necropsy",
                True,
                True,
            )
        elif self.study.status == "canceled":
            reason, comment, survivor, samples = (
                "End of study",
                "Study canceled; animals removed from study",
                None,
                False,
            )
        else:
            return
        for state in self.states:
            if state.alive:
                self._terminate(
                    state, last, self.study.owner, reason, comment, survivor, samples=samples
                )

    # ----------------------------------------------------------------- one animal, one day
    def _animal_day(
        self, state: AnimalState, day: int, today: date, tech: User, doser: User
    ) -> None:
        rng = self.rng
        oncology = self.study.kind == "oncology"
        if day > 0:
            if rng.random() < self._death_hazard(state):
                self._terminate(
                    state,
                    today,
                    tech,
                    "Found dead",
                    "Found dead at morning check",
                    False,
                    samples=False,
                )
                return
            self._evolve(state, day)
        measurement = self._measure(state, today, tech)
        weight = state.weight_tenths
        if day == 0:
            state.baseline_weight = weight
        loss = 1 - weight / state.baseline_weight
        self._observe(state, day, today, tech, loss)

        ending = self._humane_endpoint(state, measurement, today, tech, loss)
        if ending is not None:
            reason, comment = ending
            self._terminate(state, today, tech, reason, comment, False)
            return
        if self._dosing_day(day) and loss < BW_DOSE_HOLIDAY:
            self._dose(state, measurement, today, doser)
        if (
            oncology
            and day == 7
            and state.animal.group.level > 0
            and self._rank_in_group(state) < 2
        ):
            self._sample(
                state,
                today,
                tech,
                "Blood",
                (("volume", "ml", "0.05"),),
                "Interim PK bleed (tail vein), 2 h post-dose",
            )

    def _humane_endpoint(
        self, state: AnimalState, measurement: Measurement, today: date, tech: User, loss: float
    ) -> tuple[str, str] | None:
        """The euthanasia reason and comment if today's findings end the animal."""
        rng = self.rng
        volume = float(measurement.volume) if measurement.volume is not None else 0.0
        if volume >= TUMOUR_ENDPOINT_MM3:
            limit = f"{TUMOUR_ENDPOINT_MM3} mm³"
            return "Tumour volume endpoint", f"Tumour {measurement.volume} mm³ reached {limit}"
        if loss >= BW_ENDPOINT:
            return "Body weight loss", f"Body weight loss {loss:.1%} from day 0"
        if loss >= 0.17 and rng.random() < 0.15:
            self._observation_record(
                state, today, tech, "Hunched posture", "severity", "Severe", "Moribund, cold"
            )
            return "Moribund", "Moribund at clinical check"
        if volume > 800 and rng.random() < 0.012:
            severity = "Severe" if rng.random() < 0.3 else "Moderate"
            self._observation_record(
                state, today, tech, "Tumour ulceration", "severity", severity, "Ulcerated tumour"
            )
            if severity == "Severe":
                return "Ulceration", "Severe tumour ulceration"
        return None

    def _death_hazard(self, state: AnimalState) -> float:
        hazard = 0.0003
        if state.toxicity < -0.006:
            hazard = 0.0008 if self.study.kind == "oncology" else 0.0015
        return hazard

    def _evolve(self, state: AnimalState, day: int) -> None:
        rng = self.rng
        if state.volume:
            growth = state.growth
            if state.regresses and day <= 3:
                growth = 0.04  # the top dose needs a few days before tumours shrink
            state.volume = max(12.0, state.volume * math.exp(growth + rng.gauss(0, 0.04)))
        toxicity = state.toxicity
        if self.study.kind == "oncology" and day > 10 and toxicity < 0:
            toxicity = 0.002  # recovery once the animals adapt to the compound
        state.lean_weight *= 1 + state.weight_trend + toxicity + rng.gauss(0, 0.004)

    def _measure(self, state: AnimalState, today: date, user: User) -> Measurement:
        rng, ids = self.rng, self.ids
        animal = state.animal
        tumour_g = state.volume / 1000.0
        weight = to_fixed((state.lean_weight + tumour_g) * (1 + rng.gauss(0, 0.003)), 1)
        state.weight_tenths = weight
        at = datetime.combine(today, time(8, 30)) + timedelta(
            seconds=40 * state.order + rng.randrange(30), microseconds=rng.randrange(10**6)
        )
        width = length = volume = None
        if self.study.preset.has_tumour:
            observed = state.volume * math.exp(rng.gauss(0, 0.05))
            w, ln = tumour_dimensions(observed, state.ratio * rng.uniform(0.95, 1.05))
            width, length, volume = (
                fmt_fixed(w, 2),
                fmt_fixed(ln, 2),
                fmt_fixed(tumour_volume(w, ln), 2),
            )
            calc_ids = (ids.new("vbl"), ids.new("vbl"), ids.new("vbl"), ids.new("vbl"))
        else:
            calc_ids = (ids.new("vbl"),)
        measurement = Measurement(
            id=ids.new("mst"),
            animal=animal,
            measured_at=today,
            recorded_at=at,
            user=user,
            weight=fmt_fixed(weight, 1),
            width=width,
            length=length,
            volume=volume,
            calc_ids=calc_ids,
        )
        self.study.measurements.append(measurement)
        animal.updated_at = at
        return measurement

    def _observe(self, state: AnimalState, day: int, today: date, user: User, loss: float) -> None:
        rng = self.rng
        if day % 7 == 0:
            score = "3" if loss < 0.10 else ("2" if loss < 0.18 else "1")
            self._observation_record(
                state,
                today,
                user,
                "Body condition score",
                "numeric",
                score,
                "Weekly body condition scoring",
            )
            if self.study.kind == "tox":
                coat = "0" if loss < 0.08 else str(min(6, int(loss * 25)))
                self._observation_record(
                    state, today, user, "Coat condition", "numeric", coat, "Weekly coat check"
                )
        if loss >= 0.10 and rng.random() < 0.5:
            severity = "Mild" if loss < 0.15 else ("Moderate" if loss < 0.18 else "Severe")
            self._observation_record(
                state,
                today,
                user,
                "Hunched posture",
                "severity",
                severity,
                f"Body weight {loss:.0%} below day 0",
            )
        if loss >= 0.12 and rng.random() < 0.3:
            self._observation_record(
                state,
                today,
                user,
                "Piloerection",
                "severity",
                "Mild" if loss < 0.16 else "Moderate",
                "Piloerection at daily check",
            )
        if state.toxicity < -0.006 and self.study.kind == "tox" and rng.random() < 0.05:
            self._observation_record(
                state,
                today,
                user,
                "Reduced activity",
                "numeric",
                str(rng.randint(1, 2)),
                "Reduced activity after dosing",
            )

    def _observation_record(
        self,
        state: AnimalState,
        today: date,
        user: User,
        title: str,
        kind: str,
        value: str,
        text: str,
    ) -> None:
        rng = self.rng
        at = datetime.combine(today, time(9, 15)) + timedelta(
            seconds=30 * state.order + rng.randrange(60), microseconds=rng.randrange(10**6)
        )
        self.study.observations.append(
            Observation(
                id=self.ids.new("obs"),
                animal=state.animal,
                glossary=self._observation[title],
                text=text,
                type=kind,
                value=value,
                observed_at=at,
                user=user,
            )
        )

    def _dosing_day(self, day: int) -> bool:
        return self.study.schedule == "QD" or day % 3 == 0

    def _dose(self, state: AnimalState, measurement: Measurement, today: date, user: User) -> None:
        """One dosage of each of the group's treatments (two for a combination group)."""
        for treatment in state.animal.group.treatments:
            self._dose_one(state, measurement, today, user, treatment)

    def _dose_one(
        self,
        state: AnimalState,
        measurement: Measurement,
        today: date,
        user: User,
        treatment: Treatment,
    ) -> None:
        rng = self.rng
        dose_volume = DOSE_VOLUME_ML_KG[self.study.kind]
        weight_tenths = state.weight_tenths
        state.doses += 1
        at = datetime.combine(today, time(10, 0)) + timedelta(
            seconds=45 * state.order + rng.randrange(30), microseconds=rng.randrange(10**6)
        )
        self.study.dosages.append(
            Dosage(
                id=self.ids.new("dsg"),
                animal=state.animal,
                measurement=measurement,
                treatment=treatment,
                user=user,
                name=f"Dose {state.doses} - {treatment.name}",
                dosed_at=at,
                weight=measurement.weight,
                # µl = g * ml/kg exactly: tenths of a gram times an integer dose volume.
                volume=fmt_fixed(weight_tenths * dose_volume, 1),
            )
        )

    def _rank_in_group(self, state: AnimalState) -> int:
        group = state.animal.group
        return sum(1 for s in self.states[: state.order] if s.animal.group is group)

    # ----------------------------------------------------------------- endings
    def _terminate(
        self,
        state: AnimalState,
        today: date,
        user: User,
        reason: str,
        comment: str,
        survivor: bool | None,
        *,
        samples: bool = True,
    ) -> None:
        state.alive = False
        animal = state.animal
        animal.termination = Termination(today, user, self._reason[reason], comment, survivor)
        animal.updated_at = datetime.combine(today, time(12, 30)) + timedelta(
            seconds=20 * state.order, microseconds=self.rng.randrange(10**6)
        )
        if samples:
            self._terminal_samples(state, today, user)

    def _terminal_samples(self, state: AnimalState, today: date, user: User) -> None:
        rng = self.rng
        if self.study.kind == "oncology":
            self._sample(
                state,
                today,
                user,
                "Blood",
                (("volume", "ml", _dec(rng.uniform(0.6, 0.9), 2)),),
                "Terminal cardiac puncture",
            )
            self._sample(
                state,
                today,
                user,
                "Plasma",
                (("volume", "ml", _dec(rng.uniform(0.25, 0.45), 2)),),
                "K2EDTA plasma",
            )
            tumour_g = state.volume / 1000 * rng.uniform(0.85, 1.1)
            self._sample(
                state,
                today,
                user,
                "Tumour",
                (("weight", "g", _dec(tumour_g, 3)),),
                "Excised tumour, weighed fresh",
            )
            self._sample(
                state,
                today,
                user,
                "Spleen",
                (("weight", "g", _dec(rng.uniform(0.06, 0.14), 3)),),
                "Spleen, weighed fresh",
            )
        else:
            self._sample(
                state,
                today,
                user,
                "Blood",
                (("volume", "ml", _dec(rng.uniform(6, 9), 1)),),
                "Terminal abdominal aorta bleed",
            )
            self._sample(
                state,
                today,
                user,
                "Plasma",
                (("volume", "ml", _dec(rng.uniform(2.5, 4), 1)),),
                "K2EDTA plasma",
            )
            self._sample(
                state,
                today,
                user,
                "Liver",
                (("weight", "g", _dec(rng.uniform(8, 14), 2)),),
                "Liver, weighed fresh",
            )
            self._sample(
                state,
                today,
                user,
                "Spleen",
                (("weight", "g", _dec(rng.uniform(0.5, 0.9), 3)),),
                "Spleen, weighed fresh",
            )

    def _sample(
        self,
        state: AnimalState,
        today: date,
        user: User,
        kind: str,
        details: tuple[tuple[str, str, str], ...],
        comments: str,
    ) -> None:
        rng, study = self.rng, self.study
        self._samples += 1
        at = datetime.combine(today, time(13, 0)) + timedelta(
            seconds=60 * state.order + 10 * self._samples % 60, microseconds=rng.randrange(10**6)
        )
        study.samples.append(
            Sample(
                id=self.ids.new("spl"),
                animal=state.animal,
                sample_id=f"S{self.ids.digits(10)}",
                type=kind,
                collected_at=at,
                details=details,
                comments=comments,
                metadata={
                    "sample-internal-id": f"SMP-{study.index + 1:04d}-{self._samples:05d}",
                    "storage-location": ("Freezer A1", "Freezer A2", "Freezer B1", "Freezer B2")[
                        self._samples % 4
                    ],
                },
                user=user,
            )
        )


def _dec(value: float, decimals: int) -> str:
    return fmt_fixed(to_fixed(value, decimals), decimals)
